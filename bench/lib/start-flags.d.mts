/** The node flags of `npm start` (`node <flags> dist/main.js`). */
export function startFlags(): string[];
