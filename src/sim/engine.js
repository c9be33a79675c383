// orbitbot's fake engine: plays the subset of @wppconnect/wa-js 4.x that the bridge
// uses, on the simulator's fake WhatsApp Web. Injected as an init script before
// navigation, it waits for the page's internals (window.__simApp) to exist.
(() => {
  'use strict';
  if (window.WPP && window.WPP.__simulator) return;

  const listeners = new Map();
  const readyCallbacks = [];
  let app = null;

  function on(name, fn) {
    if (!listeners.has(name)) listeners.set(name, []);
    listeners.get(name).push(fn);
    return WPP;
  }

  function off(name, fn) {
    listeners.set(name, (listeners.get(name) || []).filter((f) => f !== fn));
    return WPP;
  }

  function once(name, fn) {
    const wrapper = (...args) => { off(name, wrapper); fn(...args); };
    return on(name, wrapper);
  }

  function emit(name, payload) {
    for (const fn of (listeners.get(name) || []).slice()) {
      try { fn(payload); } catch (e) { console.error('WPP listener failed', name, e); }
    }
  }

  function need() {
    if (!app) throw new Error('WPP is not ready');
    return app;
  }

  function wid(value) {
    if (value == null) return undefined;
    return new (need().Wid)(typeof value === 'object' ? value._serialized || String(value) : value);
  }

  /** The key id of a message id given as string, MsgKey or model. */
  function keyOf(id) {
    if (id && typeof id === 'object') {
      if (id.id && typeof id.id === 'object') return id.id.id;
      return id.id || String(id);
    }
    const parts = String(id).split('_');
    return parts.length >= 3 ? parts[2] : String(id);
  }

  // ---- WPP.conn -------------------------------------------------------------

  async function getAuthCode() {
    const a = need();
    if (a.conn.authenticated || !a.conn.code) return null;
    const [ref, staticKeyPair, identityKeyPair, secretKey] = a.conn.code.split(',');
    return {
      type: 'multidevice',
      ref,
      staticKeyPair,
      identityKeyPair,
      secretKey,
      fullCode: a.conn.code,
    };
  }

  const linkCode = { phone: null, code: null };

  const conn = {
    getAuthCode,
    async refreshQR() {
      const a = need();
      if (a.conn.authenticated) return null;
      linkCode.phone = null;
      linkCode.code = null;
      const before = a.conn.code;
      const changed = new Promise((resolve) => {
        const fn = () => { a.ev.off('change:ref', fn); resolve(); };
        a.ev.on('change:ref', fn);
        setTimeout(fn, 5000);
      });
      await a.api.refreshQR();
      if (a.conn.code === before) await changed;
      return getAuthCode();
    },
    isAuthenticated() { return Boolean(app && app.conn.authenticated); },
    isRegistered() { return Boolean(app && app.conn.authenticated); },
    isIdle() { return Boolean(app && app.conn.idle); },
    isMainReady() { return Boolean(app && app.stream.mode === 'MAIN' && app.conn.authenticated); },
    getStreamData() {
      return { mode: app ? app.stream.mode : 'OPENING', info: app ? app.stream.info : 'OPENING' };
    },
    getMyUserId() { return app && app.conn.me ? wid(app.conn.me) : undefined; },
    getMyUserLid() { return app && app.conn.lid ? wid(app.conn.lid) : undefined; },
    async logout() { await need().api.logout(); return true; },
    async startLinkDeviceCodeForPhoneNumber(phone, sendPushNotification = true) {
      void sendPushNotification;
      const digits = String(phone).replace(/\D/g, '');
      // The server hands back the code while it is live, and a new one once it is not
      // (expired, or ended by refreshQR()): never trust a cached code.
      const code = await need().api.pairCode(digits);
      if (linkCode.phone !== digits || linkCode.code !== code) {
        linkCode.phone = digits;
        linkCode.code = code;
        emit('conn.link_code_change', code);
      }
      return code;
    },
    async genLinkDeviceCodeForPhoneNumber(phone) {
      return need().api.pairCode(String(phone).replace(/\D/g, ''));
    },
  };

  // ---- WPP.chat -------------------------------------------------------------

  function sendReturn(model) {
    return {
      id: String(model.id),
      ack: model.ack,
      from: String(model.from),
      to: String(model.to),
      sendMsgResult: Promise.resolve({ messageSendResult: 'OK' }),
    };
  }

  function commonFields(options) {
    return {
      id: options.messageId ? keyOf(options.messageId) : undefined,
      quoted_id: options.quotedMsg ? keyOf(options.quotedMsg) : undefined,
      mentions: (options.mentionedList || []).map(String),
    };
  }

  async function toBase64(content) {
    if (content instanceof Blob) content = await blobToBase64(content);
    const text = String(content);
    const match = /^data:([^;,]*)(;[^,]*)?,(.*)$/s.exec(text);
    return match ? { b64: match[3], mimetype: match[1] } : { b64: text, mimetype: undefined };
  }

  function fileType(options, mimetype) {
    const type = options.type || 'auto-detect';
    if (type !== 'auto-detect') return type === 'audio' && options.isPtt ? 'ptt' : type;
    const mime = mimetype || '';
    if (mime.startsWith('image/')) return 'image';
    if (mime.startsWith('video/')) return 'video';
    if (mime.startsWith('audio/')) return options.isPtt ? 'ptt' : 'audio';
    return 'document';
  }

  function blobToBase64(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  function base64ToBlob(b64, mimetype) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return new Blob([bytes], { type: mimetype });
  }

  const chat = {
    async sendTextMessage(chatId, content, options = {}) {
      const fields = Object.assign({ type: 'chat', body: String(content) }, commonFields(options));
      return sendReturn(await need().api.send(String(chatId), fields));
    },
    async sendFileMessage(chatId, content, options = {}) {
      const file = await toBase64(content);
      const mimetype = options.mimetype || file.mimetype || 'application/octet-stream';
      const fields = Object.assign({
        type: fileType(options, mimetype),
        media_b64: file.b64,
        mimetype,
        caption: options.caption,
        filename: options.filename,
      }, commonFields(options));
      return sendReturn(await need().api.send(String(chatId), fields));
    },
    async downloadMedia(id) {
      const media = await need().api.media(keyOf(id));
      return base64ToBlob(media.media_b64, media.mimetype);
    },
    async markIsRead(chatId) {
      await need().api.read(String(chatId));
      return { wid: wid(chatId), unreadCount: 0 };
    },
    async getMessages(chatId, options = {}) {
      const count = options.count === undefined ? 20 : options.count;
      return need().api.messages(String(chatId), count < 0 ? 1000000 : count);
    },
  };

  // ---- events from the page's internals --------------------------------------

  function hook(a) {
    a.ev.on('change:ref', () => getAuthCode().then((code) => emit('conn.auth_code_change', code)));
    a.ev.on('idle', () => emit('conn.qrcode_idle'));
    a.ev.on('authenticated', () => emit('conn.authenticated'));
    a.ev.on('change:mode', (mode) => emit('conn.stream_mode_changed', mode));
    a.ev.on('main_ready', () => emit('conn.main_ready'));
    a.ev.on('logout', (reason) => {
      linkCode.phone = null;
      linkCode.code = null;
      emit('conn.logout_reason', reason);
      emit('conn.logout');
    });
    a.ev.on('msg:add', (msg) => emit('chat.new_message', msg));
    a.ev.on('msg:ack', (data) => emit('chat.msg_ack_change', data));
    a.ev.on('msg:revoke', (data) => emit('chat.msg_revoke', data));
    a.ev.on('msg:edit', (data) => emit('chat.msg_edited', data));
    a.ev.on('raw', (name, payload) => {
      emit(name, name.startsWith('chat.') ? a.toModel(payload) : payload);
    });
  }

  function becomeReady(a) {
    if (app) return;
    app = a;
    hook(a);
    WPP.isReady = true;
    WPP.isInjected = true;
    WPP.isFullReady = true;
    emit('conn.stream_mode_changed', a.stream.mode);
    if (a.conn.code) getAuthCode().then((code) => emit('conn.auth_code_change', code));
    for (const fn of readyCallbacks.splice(0)) {
      try { fn(); } catch (e) { console.error('onReady callback failed', e); }
    }
  }

  const WPP = {
    __simulator: true,
    version: '4.6.0-simulator',
    isReady: false,
    isInjected: false,
    isFullReady: false,
    on,
    off,
    once,
    loader: {
      onReady(fn) { if (WPP.isReady) setTimeout(fn, 0); else readyCallbacks.push(fn); },
      onInjected(fn) { WPP.loader.onReady(fn); },
      onFullReady(fn) { WPP.loader.onReady(fn); },
    },
    conn,
    chat,
    util: { blobToBase64 },
    whatsapp: {
      Socket: { async takeover() { await need().api.takeover(); return true; } },
    },
  };
  window.WPP = WPP;

  window.__simAppReady = becomeReady;
  (function wait() {
    if (app) return;
    if (window.__simApp) becomeReady(window.__simApp);
    else setTimeout(wait, 10);
  })();
})();
