// One unmodified @mentra/sdk AppServer in a process of its own. The SDK reads MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY
// once, when it loads, so apps that trust different keys need different processes. GET /whoami answers the user
// the SDK's auth middleware recognised (null when it refused every credential). Prints `listening <port>`.
import { AppServer, logger } from '@mentra/sdk';

logger.level = 'error';
const server = new AppServer({ packageName: process.env.PACKAGE_NAME, apiKey: process.env.API_KEY, port: 0 });
const app = server.getExpressApp();
app.get('/whoami', (req, res) => res.json({ userId: req.authUserId ?? null }));
const http = app.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${http.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
