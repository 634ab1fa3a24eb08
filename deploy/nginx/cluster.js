// njs (nginx's JavaScript, 0.7+) for deploy/nginx/cluster.conf.template: the key nginx hashes to send every
// connection of a user to the same cloud process. It mirrors src/cluster/user-route-key.ts (userRouteKey);
// test/cluster/nginx-routing.e2e-spec.ts checks that both sides agree. nginx only routes: the process still
// verifies the token's signature.
var crypto = require('crypto');

var KEY_LENGTH = 22;
var MAX_TOKEN_LENGTH = 8192;
// `/u/<key>/...`: the app socket and the SDK's REST calls of one user (the session_request webhook's URL).
var USER_PATH = /^\/u\/([A-Za-z0-9_-]{22})(?:[/?]|$)/;

/**
 * src/cluster/user-route-key.ts routeKeyInput: the user id lower-cased and trimmed as the service does, with
 * every non-ASCII character dropped. Done by hand on ASCII (njs's Unicode tables are older than Node's); the two
 * non-ASCII characters whose lower case is ASCII in Node are mapped here.
 */
function routeKeyInput(email) {
  var out = '';
  for (var i = 0; i < email.length; i++) {
    var c = email.charCodeAt(i);
    if (c < 0x80) out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : email[i];
    else if (c === 0x130) out += 'i';
    else if (c === 0x212a) out += 'k';
  }
  return out.trim();
}

function routeKey(userId) {
  return crypto.createHash('sha256').update(routeKeyInput(userId)).digest('base64url').slice(0, KEY_LENGTH);
}

/** The core token as /glasses-ws takes it: the Authorization Bearer header first, then `?token=`. */
function tokenOf(r) {
  var header = r.headersIn.Authorization;
  if (header) {
    var m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (m) return m[1].trim();
  }
  var uri = r.variables.request_uri || '';
  var q = uri.indexOf('?');
  if (q < 0) return null;
  var pairs = uri.slice(q + 1).split('&');
  for (var i = 0; i < pairs.length; i++) {
    if (pairs[i].indexOf('token=') === 0) {
      try {
        return decodeURIComponent(pairs[i].slice(6).replace(/\+/g, ' '));
      } catch (e) {
        return null;
      }
    }
  }
  return null;
}

/** The `email` claim of a JWT's payload, unverified (routing only), or null. */
function emailOf(token) {
  if (!token || token.length > MAX_TOKEN_LENGTH) return null;
  var parts = token.split('.');
  if (parts.length !== 3) return null;
  var payload;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  } catch (e) {
    return null;
  }
  var email = payload && payload.email;
  if (typeof email !== 'string' || email.trim() === '' || email.length > 320) return null;
  return email;
}

/**
 * `$cluster_user_key`: the key of `/u/<key>/...` as given, else the user of the core token, else the request's
 * random id (a request without a user is spread; the process refuses it). Read from $request_uri, which the
 * rewrite that strips `/u/<key>` does not change.
 */
function userKey(r) {
  var uri = r.variables.request_uri || '';
  var m = USER_PATH.exec(uri);
  if (m) return m[1];
  var email = emailOf(tokenOf(r));
  if (email !== null) return routeKey(email);
  return r.variables.request_id;
}

export default { userKey: userKey, routeKey: routeKey };
