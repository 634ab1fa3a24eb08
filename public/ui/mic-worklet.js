// AudioWorklet: the browser microphone (at the AudioContext's rate, usually 48 kHz) → PCM s16le
// 16 kHz mono in 100 ms frames (3,200 bytes), posted to the page, which sends them as binary
// frames on /glasses-ws. Resampling: a moving-average low-pass over the rate ratio, then linear
// interpolation with its position carried across the 128-sample render quanta.

class Pcm16kCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = (options && options.processorOptions) || {};
    this.targetRate = o.targetRate || 16000;
    this.frameSamples = o.frameSamples || 1600;
    this.ratio = sampleRate / this.targetRate; // `sampleRate` is a global of the worklet scope
    this.width = Math.max(1, Math.round(this.ratio));
    this.history = new Float32Array(this.width); // low-pass window
    this.histPos = 0;
    this.histSum = 0;
    this.pos = 0; // next output position, in input samples relative to the current quantum
    this.last = 0; // last filtered input sample of the previous quantum
    this.frame = new Int16Array(this.frameSamples);
    this.fill = 0;
    this.peak = 0;
    this.port.postMessage({ type: 'started', inputRate: sampleRate, targetRate: this.targetRate });
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    const n = input[0].length;
    const filtered = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let c = 0; c < input.length; c++) v += input[c][i];
      v /= input.length;
      this.histSum += v - this.history[this.histPos];
      this.history[this.histPos] = v;
      this.histPos = (this.histPos + 1) % this.width;
      filtered[i] = this.histSum / this.width;
    }
    while (this.pos <= n - 1) {
      const i0 = Math.floor(this.pos);
      const frac = this.pos - i0;
      const s0 = i0 < 0 ? this.last : filtered[i0];
      const s1 = i0 + 1 < n ? filtered[i0 + 1] : s0;
      this.push(s0 + (s1 - s0) * frac);
      this.pos += this.ratio;
    }
    this.pos -= n;
    this.last = filtered[n - 1];
    return true;
  }

  push(sample) {
    const v = Math.max(-1, Math.min(1, sample));
    const a = Math.abs(v);
    if (a > this.peak) this.peak = a;
    this.frame[this.fill++] = v < 0 ? v * 32768 : v * 32767;
    if (this.fill === this.frameSamples) {
      const out = this.frame.buffer;
      this.port.postMessage({ type: 'pcm', pcm: out, peak: this.peak }, [out]);
      this.frame = new Int16Array(this.frameSamples);
      this.fill = 0;
      this.peak = 0;
    }
  }
}

registerProcessor('pcm16k-capture', Pcm16kCapture);
