// The fake WhatsApp Web app. It talks to the simulator (same origin), keeps the login
// in the browser profile, shows the QR screen and keeps a message store. Its internals
// are published as window.__simApp, the way WhatsApp's modules are found by wa-js.
(() => {
  'use strict';

  const AUTH_KEY = 'sim.auth';

  /** A WhatsApp id such as 5511...@c.us, ...@lid or ...@g.us. */
  class Wid {
    constructor(serialized) {
      const text = String(serialized);
      const at = text.indexOf('@');
      this.server = at >= 0 ? text.slice(at + 1) : 'c.us';
      this.user = at >= 0 ? text.slice(0, at) : text;
      this._serialized = this.user + '@' + this.server;
    }
    toString() { return this._serialized; }
    isGroup() { return this.server === 'g.us'; }
    isLid() { return this.server === 'lid'; }
    isUser() { return this.server === 'c.us' || this.server === 'lid'; }
    isBroadcast() { return this.server === 'broadcast'; }
    isNewsletter() { return this.server === 'newsletter'; }
    equals(other) { return other != null && String(other) === this._serialized; }
  }

  /** A message key: fromMe, remote chat, key id, and the group participant. */
  class MsgKey {
    constructor(raw) {
      this.fromMe = Boolean(raw.fromMe);
      this.remote = new Wid(raw.remote);
      this.id = raw.id;
      if (raw.participant) this.participant = new Wid(raw.participant);
      this._serialized = raw._serialized ||
        [this.fromMe, this.remote, this.id].join('_');
    }
    toString() { return this._serialized; }
  }

  /** A tiny event emitter, like the Backbone events WhatsApp's stores have. */
  class Emitter {
    constructor() { this.handlers = new Map(); }
    on(name, fn) {
      if (!this.handlers.has(name)) this.handlers.set(name, []);
      this.handlers.get(name).push(fn);
    }
    off(name, fn) {
      const list = this.handlers.get(name) || [];
      this.handlers.set(name, list.filter((f) => f !== fn));
    }
    emit(name, ...args) {
      for (const fn of (this.handlers.get(name) || []).slice()) {
        try { fn(...args); } catch (e) { console.error('handler failed', name, e); }
      }
    }
  }

  const ev = new Emitter();
  const conn = { ref: null, code: null, seq: 0, idle: false, me: null, lid: null,
    authenticated: false, keys: null, pairCode: null };
  const stream = { mode: 'OPENING', info: 'OPENING' };
  const msgs = new Map();
  let page = null;
  let cursor = 0;
  let generation = 0;

  function wid(value) {
    if (value == null) return value;
    return value instanceof Wid ? value : new Wid(value._serialized || value);
  }

  /** A message model from the simulator's JSON (lenient: raw events may be odd). */
  function toModel(raw) {
    if (raw == null || typeof raw !== 'object') return raw;
    const model = Object.assign({}, raw);
    if (raw.id && typeof raw.id === 'object') model.id = new MsgKey(raw.id);
    for (const field of ['from', 'to', 'author']) {
      if (typeof raw[field] === 'string') model[field] = wid(raw[field]);
    }
    if (raw.quotedMsgId && typeof raw.quotedMsgId === 'object') {
      model.quotedMsgId = new MsgKey(raw.quotedMsgId);
    }
    if (Array.isArray(raw.mentionedJidList)) {
      model.mentionedJidList = raw.mentionedJidList.map(wid);
    }
    return model;
  }

  async function call(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Object.assign({ page }, body || {})),
    });
    return answer(res);
  }

  async function query(path, params) {
    const search = new URLSearchParams(Object.assign({ page }, params));
    return answer(await fetch(path + '?' + search, { cache: 'no-store' }));
  }

  async function answer(res) {
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const error = new Error(json.error || ('HTTP ' + res.status));
      error.code = json.error;
      error.status = res.status;
      throw error;
    }
    return json;
  }

  // The login is kept twice in the profile: IndexedDB (committed at once, so it
  // survives a killed browser) and localStorage (read when IndexedDB is empty).
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open('sim-wa', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('kv');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function dbRead(key) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const req = db.transaction('kv', 'readonly').objectStore('kv').get(key);
      req.onsuccess = () => resolve(req.result === undefined ? null : req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function dbWrite(key, value) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction('kv', 'readwrite', { durability: 'strict' });
      if (value == null) tx.objectStore('kv').delete(key);
      else tx.objectStore('kv').put(value, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }

  async function loadAuth() {
    const stored = await dbRead(AUTH_KEY).catch(() => null);
    if (stored) return stored;
    try { return JSON.parse(localStorage.getItem(AUTH_KEY) || 'null'); } catch (e) { return null; }
  }

  function saveAuth(auth) {
    conn.stored = false;
    if (auth) localStorage.setItem(AUTH_KEY, JSON.stringify(auth));
    else localStorage.removeItem(AUTH_KEY);
    dbWrite(AUTH_KEY, auth).then(() => { conn.stored = true; }, () => {});
  }

  function setMode(mode) {
    if (stream.mode === mode) return;
    stream.mode = mode;
    stream.info = mode === 'MAIN' ? 'NORMAL' : mode;
    ev.emit('change:mode', mode);
    if (mode === 'MAIN' || mode === 'QR') ev.emit('main_ready');
    render();
  }

  function setQr(code, seq) {
    conn.pairCode = null;
    conn.code = code;
    conn.ref = code ? code.split(',')[0] : null;
    conn.seq = seq || 0;
    conn.idle = false;
    render();
    ev.emit('change:ref', conn.ref);
  }

  const handlers = {
    qr(data) { setMode('QR'); setQr(data.code, data.seq); },
    pair_code(data) {
      // The code replaces the QR attempt: the pairing-code screen has no QR.
      setQr(null, 0);
      conn.pairCode = data.code;
      render();
    },
    qr_idle() {
      conn.idle = true;
      conn.code = null;
      conn.ref = null;
      render();
      ev.emit('idle');
    },
    linked(data) {
      saveAuth({ account: data.account, token: data.token });
      conn.code = null;
      conn.ref = null;
      ev.emit('change:ref', null);
    },
    session(data) {
      conn.me = data.me;
      conn.lid = data.lid;
      const first = !conn.authenticated;
      conn.authenticated = true;
      if (first) ev.emit('authenticated');
    },
    mode(data) { setMode(data.mode); },
    msg(data) {
      const model = toModel(data);
      msgs.set(String(model.id), model);
      render();
      ev.emit('msg:add', model);
    },
    ack(data) {
      for (const id of data.ids || []) {
        const known = msgs.get(id._serialized);
        if (known) known.ack = data.ack;
      }
      ev.emit('msg:ack', Object.assign({}, data, {
        chat: wid(data.chat), ids: (data.ids || []).map((k) => new MsgKey(k)),
      }));
    },
    edit(data) {
      const model = toModel(data.msg);
      msgs.set(String(model.id), model);
      ev.emit('msg:edit', { chat: wid(data.chat), id: data.id, msg: model });
    },
    revoke(data) {
      const known = msgs.get(data.refId._serialized);
      if (known) known.type = 'revoked';
      ev.emit('msg:revoke', {
        author: wid(data.author), from: wid(data.from), to: wid(data.to),
        id: new MsgKey(data.id), refId: new MsgKey(data.refId), type: data.type,
      });
    },
    logout(data) {
      saveAuth(null);
      conn.authenticated = false;
      conn.me = null;
      conn.lid = null;
      ev.emit('logout', data.reason);
      setMode('QR');
    },
    raw(data) { ev.emit('raw', data.event, data.payload); },
  };

  async function attach() {
    generation += 1;
    const mine = generation;
    page = null;
    cursor = 0;
    const auth = await loadAuth();
    const res = await call('/sim/page/attach', { auth });
    if (auth && !res.logged_in) saveAuth(null);
    page = res.page;
    if (!res.logged_in) {
      conn.authenticated = false;
      setMode('QR');
    }
    pollLoop(mine);
  }

  async function pollLoop(mine) {
    while (mine === generation) {
      try {
        const res = await fetch('/sim/page/poll?page=' + page + '&after=' + cursor,
          { cache: 'no-store' });
        if (res.status === 410) { attachSoon(); return; }
        const json = await res.json();
        for (const event of json.events || []) {
          if (event.seq <= cursor) continue;
          cursor = event.seq;
          const handler = handlers[event.kind];
          if (handler) handler(event.data);
        }
      } catch (e) {
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  function attachSoon() {
    attach().catch(() => setTimeout(attachSoon, 500));
  }

  const api = {
    async send(to, fields) { return toModel(await call('/sim/page/send', Object.assign({ to }, fields))); },
    async refreshQR() { await call('/sim/page/refresh_qr'); },
    async pairCode(phone) { return (await call('/sim/page/pair_code', { phone })).code; },
    async takeover() { await call('/sim/page/takeover'); },
    async logout() { await call('/sim/page/logout'); },
    async media(id) { return query('/sim/page/media', { id }); },
    async messages(chat, count) {
      return (await query('/sim/page/messages', { chat, count })).map(toModel);
    },
    async read(chat) { return call('/sim/page/read', { chat }); },
  };

  function drawQr(canvas, text) {
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!text) return;
    // A picture derived from the text; the text itself is in data-ref.
    let h = 2166136261;
    ctx.fillStyle = '#000';
    for (let y = 0; y < 33; y++) {
      for (let x = 0; x < 33; x++) {
        h = Math.imul(h ^ text.charCodeAt((x + y * 33) % text.length), 16777619);
        if ((h >>> 7) & 1) ctx.fillRect(x * 8, y * 8, 8, 8);
      }
    }
  }

  function statusText() {
    if (conn.authenticated) return 'Logged in as ' + conn.me + ' (' + stream.mode + ')';
    if (conn.pairCode) {
      return 'Enter this code on your phone: ' + conn.pairCode.slice(0, 4) + '-' +
        conn.pairCode.slice(4);
    }
    return conn.idle ? 'Click to reload QR code' : 'Scan the QR code';
  }

  function render() {
    const box = document.getElementById('qr');
    if (!box) return;
    box.setAttribute('data-ref', conn.code || '');
    drawQr(box.querySelector('canvas'), conn.code);
    const status = document.getElementById('status');
    status.textContent = statusText();
    const chats = document.getElementById('chats');
    chats.textContent = '';
    for (const m of Array.from(msgs.values()).slice(-20)) {
      const line = document.createElement('div');
      line.className = 'msg';
      line.textContent = String(m.from) + ': ' + (m.body || m.caption || '[' + m.type + ']');
      chats.appendChild(line);
    }
  }

  window.__simApp = { ev, conn, stream, msgs, api, Wid, MsgKey, toModel };
  // An engine injected before the page waits for this moment.
  if (typeof window.__simAppReady === 'function') window.__simAppReady(window.__simApp);
  document.getElementById('qr').addEventListener('click', () => {
    if (conn.idle) api.refreshQR();
  });
  render();
  attachSoon();
})();
