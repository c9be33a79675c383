// orbitbot panel: live tenant states and the live QR link. No framework, no inline
// script (the content policy forbids it).
(function () {
  "use strict";

  function setState(tenant, state, label) {
    document.querySelectorAll("[data-state-of]").forEach(function (el) {
      if (el.getAttribute("data-state-of") !== tenant) return;
      el.textContent = label;
      el.className = "state state-" + state;
    });
  }

  function setPhone(tenant, phone) {
    if (!phone) return;
    document.querySelectorAll("[data-phone-of]").forEach(function (el) {
      if (el.getAttribute("data-phone-of") === tenant) el.textContent = "+" + phone;
    });
  }

  function watchTenants() {
    var source = new EventSource("/eventos");
    source.addEventListener("estado", function (e) {
      var d = JSON.parse(e.data);
      var shown = document.querySelector("[data-state-of=\"" + d.tenant + "\"]");
      if (!shown && document.getElementById("clientes")) { location.reload(); return; }
      setState(d.tenant, d.state, d.label);
      setPhone(d.tenant, d.phone);
    });
    source.addEventListener("recarregar", function () { location.reload(); });
  }

  function watchLink(box) {
    var token = box.getAttribute("data-token");
    var img = document.getElementById("qr");
    var status = document.getElementById("status");
    var again = document.getElementById("again");
    var source = new EventSource("/l/" + token + "/eventos");
    source.addEventListener("qr", function (e) {
      var d = JSON.parse(e.data);
      img.src = "/l/" + token + "/qr.png?n=" + d.seq;
      img.hidden = false;
      again.hidden = true;
      status.textContent = "Escaneie este QR. Ele muda sozinho a cada poucos segundos.";
    });
    source.addEventListener("estado", function (e) {
      var d = JSON.parse(e.data);
      if (d.state === "qr_expired") {
        img.hidden = true;
        status.textContent = "";
        again.hidden = false;
      } else if (d.ended) {
        img.hidden = true;
        again.hidden = true;
        status.textContent = "A conexão foi interrompida. Fale com quem te enviou o link.";
      } else if (d.state === "syncing") {
        img.hidden = true;
        status.textContent = "QR lido! Conectando…";
      }
    });
    source.addEventListener("conectado", function () {
      source.close();
      box.innerHTML = "<p class=\"big\">conectado ✅</p><p>Pode fechar esta página.</p>";
      ["passos", "validade"].forEach(function (id) {
        var el = document.getElementById(id);
        if (el) el.hidden = true;
      });
    });
    source.addEventListener("expirado", function () {
      source.close();
      box.innerHTML = "<p>Este link expirou. Peça um link novo a quem te enviou.</p>";
    });
    source.addEventListener("recarregar", function () { location.reload(); });
  }

  var box = document.getElementById("live");
  if (box) { watchLink(box); } else if (document.querySelector("[data-state-of]")) { watchTenants(); }
})();
