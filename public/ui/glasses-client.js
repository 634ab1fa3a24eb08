// The glasses + phone side of /glasses-ws in the browser (glasses.md): the same protocol as
// src/simulator/SimulatedGlasses, without Node. The token travels as `?token=` because browsers
// cannot set headers on a WebSocket upgrade.
//
// Events (EventTarget): 'open', 'ack' {detail: ack}, 'message' {detail: msg}, 'sent' {detail: msg},
// 'state' (display / mic changed), 'close' {detail: {code, reason}}, 'audio-sent' {detail: bytes}.

export class GlassesClient extends EventTarget {
  constructor({ token, model, baseUrl = location.origin }) {
    super();
    this.token = token;
    this.model = model;
    this.baseUrl = baseUrl;
    this.ws = null;
    this.location = { lat: 52.52, lng: 13.405, accuracy: 10 };
    this.state = this.initialState();
    this.audioPlayers = new Map();
  }

  initialState() {
    return {
      connected: false,
      sessionId: null,
      display: { main: null, dashboard: null },
      micEnabled: false,
      requiredData: [],
      locationTier: null,
    };
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  url() {
    const u = new URL('/glasses-ws', this.baseUrl);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('token', this.token);
    return u.toString();
  }

  /** Resolves on the first connection_ack; rejects on connection_error or an early close. */
  connect(timeoutMs = 10000) {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return Promise.reject(new Error('already connected'));
    const ws = new WebSocket(this.url());
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err, ack) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        err ? reject(err) : resolve(ack);
      };
      const timer = setTimeout(() => {
        finish(new Error(`no connection_ack within ${timeoutMs} ms`));
        ws.close();
      }, timeoutMs);
      ws.addEventListener('open', () => {
        if (ws !== this.ws) return;
        this.state.connected = true;
        this.emit('open');
        this.sendConnectionState();
      });
      ws.addEventListener('message', (ev) => {
        if (ws !== this.ws) return;
        if (typeof ev.data !== 'string') return; // the cloud sends no binary to the glasses today
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (!msg || typeof msg.type !== 'string') return;
        this.handle(msg);
        if (msg.type === 'connection_ack') finish(null, msg);
        if (msg.type === 'connection_error' || msg.type === 'auth_error')
          finish(new Error(`${msg.type}: ${msg.message}`));
      });
      ws.addEventListener('close', (ev) => {
        finish(new Error(`socket closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''}) before connection_ack`));
        if (ws !== this.ws) return;
        this.state.connected = false;
        this.emit('close', { code: ev.code, reason: ev.reason });
      });
    });
  }

  close(code = 1000, reason = 'simulator closed') {
    const ws = this.ws;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
    for (const a of this.audioPlayers.values()) a.pause();
    this.audioPlayers.clear();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  send(type, payload = {}) {
    if (!this.isOpen) throw new Error('the glasses are not connected');
    const msg = { type, ...payload };
    if (type !== 'ping' && type !== 'pong' && msg.timestamp === undefined) msg.timestamp = new Date().toISOString();
    this.ws.send(JSON.stringify(msg));
    this.emit('sent', msg);
    return msg;
  }

  /** One binary frame of PCM s16le, 16 kHz, mono. */
  sendAudio(buffer) {
    if (!this.isOpen) return false;
    this.ws.send(buffer);
    this.emit('audio-sent', buffer.byteLength);
    return true;
  }

  sendConnectionState(status = 'CONNECTED') {
    const hasWifi = this.model.name === 'Mentra Live';
    this.send('glasses_connection_state', {
      modelName: this.model.name,
      status,
      wifi: { connected: hasWifi, ssid: hasWifi ? 'SimulatorWiFi' : null },
    });
  }

  setModel(model) {
    this.model = model;
    if (this.isOpen) this.sendConnectionState();
  }

  pressButton(pressType = 'short') {
    this.send('button_press', { buttonId: 'main', pressType });
  }

  touch(gesture) {
    this.send('touch_event', {
      device_model: this.model.name,
      gesture_name: gesture,
      timestamp: new Date().toISOString(),
    });
  }

  headPosition(position) {
    this.send('head_position', { position });
  }

  vad(status) {
    this.send('VAD', { status });
  }

  transcript(text, isFinal = true, language = 'en-US') {
    const endTime = Date.now();
    const words = text.trim().split(/\s+/).filter(Boolean).length;
    this.send('local_transcription', {
      text,
      isFinal,
      startTime: endTime - Math.max(300, words * 300),
      endTime,
      speakerId: 0,
      transcribeLanguage: language,
      provider: 'web-simulator',
    });
  }

  setLocation(lat, lng, accuracy) {
    this.location = { lat, lng, accuracy };
    if (this.isOpen) this.send('location_update', { lat, lng, accuracy });
  }

  battery(level, charging = false) {
    this.send('glasses_battery_update', { level, charging });
  }

  notification(title, content, app = 'Messages') {
    this.send('phone_notification', { notificationId: crypto.randomUUID(), app, title, content, priority: 'normal' });
  }

  /** Phone state and the answers a phone gives on its own. */
  handle(msg) {
    const s = this.state;
    let changed = false;
    switch (msg.type) {
      case 'connection_ack':
        s.sessionId = msg.sessionId;
        this.emit('ack', msg);
        changed = true;
        break;
      case 'display_event': {
        const view = msg.view === 'dashboard' ? 'dashboard' : 'main';
        const l = msg.layout;
        s.display[view] = !l || l.layoutType === 'clear_view' || (l.layoutType === 'text_wall' && !l.text) ? null : msg;
        changed = true;
        break;
      }
      case 'microphone_state_change':
        s.micEnabled = msg.isMicrophoneEnabled === true;
        s.requiredData = Array.isArray(msg.requiredData) ? msg.requiredData : [];
        changed = true;
        break;
      case 'set_location_tier':
        s.locationTier = msg.tier;
        changed = true;
        break;
      default:
        break;
    }
    this.emit('message', msg);
    if (changed) this.emit('state', s);
    this.autoAnswer(msg);
  }

  autoAnswer(msg) {
    if (!this.isOpen) return;
    switch (msg.type) {
      case 'ping':
        this.send('pong');
        break;
      case 'keep_rtmp_stream_alive':
      case 'keep_stream_alive':
        this.send('keep_alive_ack', { streamId: msg.streamId, ackId: msg.ackId });
        break;
      case 'start_rtmp_stream':
      case 'start_stream':
        this.send('rtmp_stream_status', { streamId: msg.streamId || '', status: 'active', appId: msg.appId });
        break;
      case 'stop_rtmp_stream':
      case 'stop_stream':
        this.send('rtmp_stream_status', { streamId: msg.streamId || '', status: 'stopped', appId: msg.appId });
        break;
      case 'request_single_location':
        this.send('location_update', { ...this.location, correlationId: msg.correlationId });
        break;
      case 'rgb_led_control':
        this.send('rgb_led_control_response', { requestId: msg.requestId, success: true });
        break;
      case 'photo_request':
        this.send('photo_response', {
          requestId: msg.requestId,
          success: false,
          error: {
            code: 'CAMERA_BUSY',
            message: 'The web simulator has no camera; use npm run sim or the SimulatedGlasses library for photos',
          },
        });
        break;
      case 'audio_play_request':
        this.playAudio(msg);
        break;
      case 'audio_stop_request':
        for (const a of this.audioPlayers.values()) a.pause();
        this.audioPlayers.clear();
        break;
      default:
        break;
    }
  }

  /** The phone plays an app's audio URL and reports how it went. */
  playAudio(msg) {
    if (msg.stopOtherAudio !== false) {
      for (const a of this.audioPlayers.values()) a.pause();
      this.audioPlayers.clear();
    }
    const audio = new Audio(msg.audioUrl);
    audio.volume = Math.max(0, Math.min(1, typeof msg.volume === 'number' ? msg.volume : 1));
    this.audioPlayers.set(msg.requestId, audio);
    const answer = (success, error) => {
      if (!this.audioPlayers.delete(msg.requestId)) return; // stopped or already answered
      if (this.isOpen) {
        this.send('audio_play_response', {
          requestId: msg.requestId,
          success,
          ...(error ? { error } : {}),
          ...(success && Number.isFinite(audio.duration) ? { duration: Math.round(audio.duration * 1000) } : {}),
        });
      }
    };
    audio.addEventListener('ended', () => answer(true));
    audio.addEventListener('error', () => answer(false, 'the browser could not play the audio URL'));
    audio.play().catch((err) => answer(false, `playback refused: ${err.message}`));
  }
}
