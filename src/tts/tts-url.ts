/**
 * `session.audio.speak()` in SDK 2.1.29 always builds `https://<host><path>/api/tts?…` from the app WebSocket
 * URL, even when this cloud is served over plain http, so the phone would fetch an https URL
 * nobody answers. Before an `audio_play_request` goes to the glasses, such a URL is pointed back at
 * PUBLIC_URL: only when PUBLIC_URL is http, and only for exactly our TTS route on our own host and path
 * (so any other audio URL, ours over https or someone else's, is left alone). Pure, no I/O.
 */
export function rewriteTtsUrl(audioUrl: string, publicUrl: string): string {
  let audio: URL;
  let pub: URL;
  try {
    audio = new URL(audioUrl);
    pub = new URL(publicUrl);
  } catch {
    return audioUrl;
  }
  if (pub.protocol !== 'http:' || audio.protocol !== 'https:') return audioUrl;
  // The SDK keeps host and port as written while swapping the scheme: `http://h:8002` became `https://h:8002`,
  // `http://h` became `https://h`, `http://h:80` became `https://h:80`. URL drops default ports, hence both checks.
  const samePort = audio.port === pub.port || (audio.port || '443') === (pub.port || '80');
  if (audio.hostname !== pub.hostname || !samePort) return audioUrl;
  if (audio.username || audio.password) return audioUrl;
  const base = pub.pathname.replace(/\/+$/, '');
  if (audio.pathname !== `${base}/api/tts`) return audioUrl;
  return `${pub.origin}${base}/api/tts${audio.search}`;
}
