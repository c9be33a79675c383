// orbitbot's page bridge, protocol v1: `window.__wab`.
//
// Injected before navigation after the engine (wa-js on the real site, the fake engine
// on the simulator). Rust talks only to the functions below, through WebDriver
// `execute`; events leave the page through a bounded, sequence-numbered queue drained
// by a long poll, and an event is dropped only after a later poll acknowledges it.
(function () {
  'use strict';
  if (window.__wab) return;

  var PROTOCOL = 1;
  var MAX_QUEUE = 5000;
  var MEDIA_TYPES = ['image', 'video', 'audio', 'ptt', 'document', 'sticker'];
  var boot = Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
  var seq = 0;
  var queue = [];
  var waiters = [];
  var overflowed = 0;
  var qrSeq = 0;
  var logoutReason = null;
  var readySent = false;
  var staged = {};
  var downloads = {};
  var handles = 0;

  function emit(kind, data) {
    seq += 1;
    queue.push({ seq: seq, kind: kind, data: data === undefined ? null : data, t: Date.now() });
    if (queue.length > MAX_QUEUE) {
      queue.shift();
      overflowed += 1;
    }
    var wake = waiters;
    waiters = [];
    wake.forEach(function (w) { w(); });
  }

  function fail(where, err) {
    emit('bridge_error', { where: where, error: String((err && err.message) || err) });
  }

  function guard(where, fn) {
    return function () {
      try {
        fn.apply(null, arguments);
      } catch (e) {
        fail(where, e);
      }
    };
  }

  function wid(x) {
    if (x === null || x === undefined) return null;
    if (typeof x === 'string') return x;
    if (x._serialized) return x._serialized;
    return String(x);
  }

  function keyId(key) {
    if (!key) return null;
    if (typeof key === 'string') {
      var parts = key.split('_');
      return parts.length >= 3 ? parts[2] : key;
    }
    return key.id || keyId(key._serialized);
  }

  function toMessage(m) {
    var key = m.id || {};
    var fromMe = !!key.fromMe;
    var chatId = wid(key.remote) || wid(fromMe ? m.to : m.from);
    var isMedia = MEDIA_TYPES.indexOf(m.type) >= 0;
    // NOTE: for media, `body` holds a base64 thumbnail: only the caption is text.
    var text = m.type === 'chat' ? (m.body || '') : (m.caption || null);
    var quoted = m.quotedMsgId || m.quotedStanzaID || null;
    return {
      id: key.id || keyId(key._serialized),
      serialized: wid(key._serialized) || null,
      chatId: chatId,
      from: wid(m.from),
      senderPn: wid(m.senderPn),
      to: wid(m.to),
      author: wid(m.author),
      fromMe: fromMe,
      isGroup: !!m.isGroupMsg || (chatId || '').endsWith('@g.us'),
      type: m.type || 'unknown',
      subtype: m.subtype || null,
      text: text,
      mimetype: m.mimetype || null,
      filename: m.filename || null,
      size: typeof m.size === 'number' ? m.size : null,
      durationSec: m.duration ? Number(m.duration) : null,
      t: typeof m.t === 'number' ? m.t : null,
      pushName: m.notifyName || m.pushname || null,
      quotedId: quoted ? keyId(quoted) : null,
      hasMedia: isMedia,
      mentions: (m.mentionedJidList || []).map(wid),
      isNew: !!m.isNewMsg
    };
  }

  function me() {
    var user = WPP.conn.getMyUserId && WPP.conn.getMyUserId();
    var lid = WPP.conn.getMyUserLid && WPP.conn.getMyUserLid();
    return { me: wid(user), lid: wid(lid) };
  }

  function streamMode() {
    var data = WPP.conn.getStreamData && WPP.conn.getStreamData();
    return data ? data.mode : null;
  }

  // Ready means logged in and on the main stream; `conn.main_ready` also fires on the
  // QR screen, so it is not used.
  function checkReady() {
    if (readySent) return;
    if (streamMode() === 'MAIN' && WPP.conn.isAuthenticated()) {
      readySent = true;
      emit('ready', me());
    }
  }

  function onQr(code) {
    if (!code || !code.fullCode) return;
    qrSeq += 1;
    emit('qr', { code: code.fullCode, seq: qrSeq });
  }

  function wire() {
    WPP.on('conn.auth_code_change', guard('qr', onQr));
    WPP.on('conn.qrcode_idle', guard('qr_idle', function () { emit('qr_idle'); }));
    WPP.on('conn.link_code_change', guard('pair', function (code) {
      emit('pair_code', { code: String(code) });
    }));
    WPP.on('conn.authenticated', guard('auth', function () { emit('authenticated'); }));
    WPP.on('conn.stream_mode_changed', guard('state', function (mode) {
      emit('state', { mode: String(mode) });
      if (mode === 'CONFLICT') emit('conflict');
      if (mode !== 'MAIN') readySent = false;
      checkReady();
    }));
    WPP.on('conn.logout_reason', guard('logout', function (reason) {
      logoutReason = reason === undefined ? null : String(reason);
    }));
    WPP.on('conn.logout', guard('logout', function () {
      readySent = false;
      emit('logout', { reason: logoutReason });
    }));
    WPP.on('conn.needs_update', guard('update', function () { emit('needs_update'); }));
    WPP.on('chat.new_message', guard('message', function (m) {
      emit('message', toMessage(m));
    }));
    WPP.on('chat.msg_ack_change', guard('ack', function (e) {
      emit('ack', { ack: e.ack, chatId: wid(e.chat), ids: (e.ids || []).map(keyId) });
    }));
    WPP.on('chat.msg_revoke', guard('revoke', function (e) {
      emit('revoke', {
        id: keyId(e.refId),
        chatId: wid(e.refId && e.refId.remote) || wid(e.from),
        from: wid(e.from),
        author: wid(e.author)
      });
    }));
    WPP.on('chat.msg_edited', guard('edit', function (e) {
      var msg = e.msg ? toMessage(e.msg) : {};
      emit('edit', { id: msg.id || keyId(e.id), chatId: wid(e.chat), text: msg.text || null });
    }));
  }

  function startWhenEngineLoads() {
    if (!window.WPP || !WPP.on) {
      setTimeout(startWhenEngineLoads, 50);
      return;
    }
    wire();
    var onReady = function () {
      try {
        if (!WPP.conn.isAuthenticated()) onQr(WPP.conn.getAuthCode());
        checkReady();
      } catch (e) {
        fail('boot', e);
      }
    };
    if (WPP.isReady) onReady();
    else WPP.loader.onReady(onReady);
  }

  function call(fn) {
    return Promise.resolve()
      .then(fn)
      .then(function (value) { return { ok: true, value: value === undefined ? null : value }; })
      .catch(function (e) {
        var text = String((e && (e.code || e.message)) || e);
        return { ok: false, error: text };
      });
  }

  function requireEngine() {
    if (!window.WPP || !WPP.isReady) throw new Error('engine-not-ready');
  }

  function newHandle() {
    handles += 1;
    return 'h' + handles;
  }

  window.__wab = Object.freeze({
    hello: function () {
      var ready = !!(window.WPP && WPP.isReady);
      return { protocol: PROTOCOL, boot: boot, url: location.href, ready: ready };
    },
    status: function () {
      var engine = !!(window.WPP && WPP.isReady);
      var who = engine ? me() : { me: null, lid: null };
      return {
        boot: boot,
        seq: seq,
        queued: queue.length,
        overflowed: overflowed,
        engineReady: engine,
        authenticated: engine ? !!WPP.conn.isAuthenticated() : false,
        stream: engine ? streamMode() : null,
        me: who.me,
        lid: who.lid
      };
    },
    // `ackBoot` names the page load `afterSeq` belongs to: an acknowledgement meant for
    // an earlier load (before a reload) must not drop this load's events.
    poll: function (afterSeq, waitMs, max, ackBoot) {
      if (ackBoot === undefined || ackBoot === boot) {
        while (queue.length && queue[0].seq <= afterSeq) queue.shift();
      }
      var take = function () { return queue.slice(0, max || 100); };
      var wait = typeof waitMs === 'number' ? Math.min(Math.max(waitMs, 0), 5000) : 1000;
      if (queue.length || wait === 0) return Promise.resolve({ boot: boot, events: take() });
      return new Promise(function (resolve) {
        var done = false;
        var finish = function () {
          if (done) return;
          done = true;
          resolve({ boot: boot, events: take() });
        };
        waiters.push(finish);
        setTimeout(finish, wait);
      });
    },
    sendText: function (to, text, opts) {
      opts = opts || {};
      return call(function () {
        requireEngine();
        var options = { createChat: true };
        if (opts.id) options.messageId = opts.id;
        if (opts.quotedId) options.quotedMsg = opts.quotedId;
        if (opts.mentions) options.mentionedList = opts.mentions;
        return WPP.chat.sendTextMessage(to, text, options).then(function (r) {
          return { id: keyId(r && r.id) || opts.id || null, ack: r ? r.ack : null };
        });
      });
    },
    stage: function (handle, b64) {
      (staged[handle] = staged[handle] || []).push(b64);
      return staged[handle].length;
    },
    sendMedia: function (to, src, opts) {
      opts = opts || {};
      return call(function () {
        requireEngine();
        var chunks = staged[src];
        if (!chunks) throw new Error('unknown-handle');
        delete staged[src];
        var mime = opts.mimetype || 'application/octet-stream';
        var dataUrl = 'data:' + mime + ';base64,' + chunks.join('');
        var options = { type: opts.type || 'auto-detect', createChat: true };
        ['caption', 'filename', 'mimetype'].forEach(function (k) {
          if (opts[k]) options[k] = opts[k];
        });
        if (opts.id) options.messageId = opts.id;
        if (opts.ptt) options.isPtt = true;
        return WPP.chat.sendFileMessage(to, dataUrl, options).then(function (r) {
          return { id: keyId(r && r.id) || opts.id || null, ack: r ? r.ack : null };
        });
      });
    },
    downloadMedia: function (msgId) {
      return call(function () {
        requireEngine();
        return WPP.chat.downloadMedia(msgId).then(function (blob) {
          return WPP.util.blobToBase64(blob).then(function (url) {
            var b64 = String(url).replace(/^data:[^,]*,/, '');
            var handle = newHandle();
            downloads[handle] = b64;
            return { handle: handle, b64Len: b64.length, size: blob.size, mimetype: blob.type };
          });
        });
      });
    },
    readMedia: function (handle, offset, len) {
      var b64 = downloads[handle];
      return b64 === undefined ? null : b64.slice(offset, offset + len);
    },
    dropMedia: function (handle) {
      var had = handle in downloads || handle in staged;
      delete downloads[handle];
      delete staged[handle];
      return had;
    },
    markSeen: function (chatId) {
      return call(function () {
        requireEngine();
        return WPP.chat.markIsRead(chatId).then(function () { return true; });
      });
    },
    recent: function (chatId, n) {
      return call(function () {
        requireEngine();
        return WPP.chat.getMessages(chatId, { count: n || 20 }).then(function (list) {
          return (list || []).map(toMessage);
        });
      });
    },
    refreshQr: function () {
      return call(function () { requireEngine(); return WPP.conn.refreshQR(); });
    },
    requestPairingCode: function (phone) {
      return call(function () {
        requireEngine();
        return WPP.conn.startLinkDeviceCodeForPhoneNumber(phone).then(function (code) {
          return String(code);
        });
      });
    },
    takeover: function () {
      return call(function () { requireEngine(); return WPP.whatsapp.Socket.takeover(); });
    },
    logout: function () {
      return call(function () { requireEngine(); return WPP.conn.logout(); });
    }
  });

  startWhenEngineLoads();
})();
