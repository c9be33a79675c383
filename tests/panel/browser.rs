//! The panel in real headless Chromium (fantoccini) against `orbitbot run` as a
//! process and the simulator: log in, create a tenant from the panel, watch its state
//! change live, open the live QR link `!link` gives, scan the QR shown on that page
//! through the simulator, and watch the page flip to "conectado ✅" and the tenant
//! list to "online" without a reload. A screenshot of each main page is kept in
//! `target/test-artefacts/panel/` to be looked at.

use std::path::{Path, PathBuf};

use fantoccini::{Client, Locator};
use orbitbot::bridge::browser::{Browser, BrowserOptions};
use serde_json::{Value, json};

use crate::admin_e2e::{
    ADMIN, CLIENT_A, CUSTOMER, OPERATOR, expect_operator, linked_admin, rig, say, text_of,
};
use crate::common::Running;
use crate::support::{browser_slots, eventually};

const PASSWORD: &str = "senha-do-painel-1";

/// Where the screenshots go.
fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artefacts/panel");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let path = artefacts().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Runs `body` in the page until it returns something truthy.
async fn wait_js(client: &Client, what: &str, body: &str) -> Value {
    let script = format!("try {{ {body} }} catch (e) {{ return null; }}");
    eventually(what, 60, || async {
        let value = client.execute(&script, vec![]).await.ok()?;
        (!value.is_null() && value != Value::Bool(false)).then_some(value)
    })
    .await
}

async fn click(client: &Client, css: &str) {
    let element = client.find(Locator::Css(css)).await.unwrap();
    element.click().await.unwrap();
}

async fn text(client: &Client) -> String {
    let value = client
        .execute("return document.body.innerText", vec![])
        .await;
    value.unwrap().as_str().unwrap_or_default().to_owned()
}

/// Appends a `[panel]` on a free port with the operator as its user; returns its URL.
fn add_panel(config: &Path) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let hash = orbitbot::panel::password::hash(PASSWORD).unwrap();
    let section = format!(
        "[panel]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"{base}\"\n\
         [[panel.users]]\nphone = \"{OPERATOR}\"\npassword_hash = \"{hash}\"\n"
    );
    // Codes that live long enough to be photographed and scanned, and still rotate.
    let mut text = std::fs::read_to_string(config)
        .unwrap()
        .replace("qr_first_s = 4", "qr_first_s = 8")
        .replace("qr_next_s = 2", "qr_next_s = 8")
        .replace("qr_resends = 3", "qr_resends = 10");
    text.push_str(&section);
    std::fs::write(config, text).unwrap();
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_hands_out_a_live_qr_link_and_watches_the_tenant_come_online() {
    let _slots = browser_slots(2).await;
    let (net, dir, config) = rig(&[ADMIN, OPERATOR, CLIENT_A, CUSTOMER]).await;
    let base = add_panel(&config);
    let run = tokio::task::block_in_place(|| Running::start(&config));
    linked_admin(&net, &dir.path().join("data")).await;
    let timings = json!({"qr_first_ms": 8000, "qr_next_ms": 8000, "qr_count": 10});
    net.ok("/sim/config", timings).await;

    let browser = Browser::launch(&BrowserOptions::new(dir.path().join("painel")))
        .await
        .unwrap();
    let client = browser.client().unwrap().clone();
    client.set_window_size(1100, 900).await.unwrap();

    // Log in; a wrong password first.
    client.goto(&format!("{base}/clientes")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/entrar")
    );
    let login = |password: &'static str| {
        let client = client.clone();
        async move {
            let phone = client
                .find(Locator::Css("input[name=telefone]"))
                .await
                .unwrap();
            phone.clear().await.unwrap();
            phone.send_keys(OPERATOR).await.unwrap();
            let field = client
                .find(Locator::Css("input[name=senha]"))
                .await
                .unwrap();
            field.send_keys(password).await.unwrap();
            click(&client, "form button").await;
        }
    };
    login("senha-errada").await;
    let wrong = "return document.body.innerText.includes('Telefone ou senha incorretos')";
    wait_js(&client, "the wrong-password note", wrong).await;
    shot(&client, "01-entrar-erro").await;
    login(PASSWORD).await;
    wait_js(
        &client,
        "the tenant list",
        "return location.pathname === '/clientes'",
    )
    .await;

    // A tenant made from the panel: its state shows, and changes without a reload.
    let name = client.find(Locator::Css("input[name=nome]")).await.unwrap();
    name.send_keys("loja-da-ana").await.unwrap();
    let create = "form[action='/clientes/novo'] button";
    click(&client, create).await;
    wait_js(
        &client,
        "the note",
        "return document.body.innerText.includes('loja-da-ana criado')",
    )
    .await;
    client
        .execute("window.__mesma_pagina = true", vec![])
        .await
        .unwrap();
    let state = "return document.querySelector('[data-state-of=\"loja-da-ana\"]').textContent";
    wait_js(
        &client,
        "waiting for a QR",
        &format!("{state} === 'aguardando QR'"),
    )
    .await;
    shot(&client, "02-clientes").await;
    let list = client.window().await.unwrap();

    // The operator asks for a live link in the chat, as they would from the phone.
    let seen = say(&net, "!link loja-da-ana").await;
    let answer = text_of(&expect_operator(&net, seen, "Link do QR de loja-da-ana").await);
    let url = answer
        .split_whitespace()
        .find(|w| w.starts_with(&base))
        .unwrap()
        .to_owned();

    // The client opens it on a phone-sized screen and scans the QR on it.
    let tab = client.new_window(true).await.unwrap();
    client.switch_to_window(tab.handle).await.unwrap();
    client.set_window_size(412, 860).await.unwrap();
    client.goto(&url).await.unwrap();
    let shown = "const i = document.getElementById('qr'); \
                 return !i.hidden && i.complete && i.naturalWidth > 0 && i.src";
    let first = wait_js(&client, "the QR on the link page", shown).await;
    shot(&client, "03-link-qr").await;
    // The page swaps the code when the session rotates it (qr_next_s = 2).
    let rotated = format!("{shown} !== {first}");
    wait_js(&client, "a rotated QR", &rotated).await;
    let image = client.find(Locator::Id("qr")).await.unwrap();
    let png = image.screenshot().await.unwrap();
    let code = orbitbot::demo::decode(&png).expect("a QR in the page's image");
    net.ok("/sim/scan", json!({"phone": CLIENT_A, "code": code}))
        .await;
    let connected = "return document.body.innerText.includes('conectado ✅')";
    wait_js(&client, "conectado on the link page", connected).await;
    shot(&client, "04-link-conectado").await;
    client.refresh().await.unwrap();
    assert!(
        text(&client).await.contains("conectado ✅"),
        "after a reload too"
    );
    assert!(!text(&client).await.contains("Escaneie"));
    client.close_window().await.unwrap();

    // Back on the list, untouched since: the tenant went online live.
    client.switch_to_window(list).await.unwrap();
    client.set_window_size(1100, 900).await.unwrap();
    wait_js(
        &client,
        "online in the list",
        &format!("{state} === 'online'"),
    )
    .await;
    let same = client
        .execute("return window.__mesma_pagina === true", vec![])
        .await;
    assert_eq!(same.unwrap(), Value::Bool(true), "no reload");
    let phone = "return document.querySelector('[data-phone-of=\"loja-da-ana\"]').textContent";
    wait_js(&client, "the number", &format!("{phone} === '+{CLIENT_A}'")).await;
    shot(&client, "05-clientes-online").await;
    expect_operator(&net, seen, "loja-da-ana online").await;

    // A customer writes; the tenant's pages show it.
    let body = json!({"from": CUSTOMER, "to": CLIENT_A, "body": "!menu"});
    net.ok("/sim/messages", body).await;
    eventually("the menu", 30, || async {
        (!net.inbox(CUSTOMER).await.is_empty()).then_some(())
    })
    .await;
    client
        .goto(&format!("{base}/clientes/loja-da-ana"))
        .await
        .unwrap();
    let page = text(&client).await;
    for shown in [
        "Histórico de estados",
        "online",
        "Persona",
        "Permissões",
        "Backups",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    shot(&client, "06-cliente").await;
    client.set_window_size(412, 860).await.unwrap();
    shot(&client, "06-cliente-celular").await;
    client.set_window_size(1100, 900).await.unwrap();
    client
        .goto(&format!(
            "{base}/clientes/loja-da-ana/historico?contato={CUSTOMER}"
        ))
        .await
        .unwrap();
    assert!(text(&client).await.contains("!menu"));
    shot(&client, "07-historico").await;
    client
        .goto(&format!("{base}/clientes/loja-da-ana/logs?nivel=INFO"))
        .await
        .unwrap();
    assert!(text(&client).await.contains("session state"));
    shot(&client, "08-logs").await;

    // Stopping asks first, then the state changes on the page.
    client
        .goto(&format!("{base}/clientes/loja-da-ana"))
        .await
        .unwrap();
    let stop = "a[href$='confirmar?acao=parar'] button";
    click(&client, stop).await;
    assert!(text(&client).await.contains("Parar loja-da-ana?"));
    shot(&client, "09-confirmar").await;
    let yes = "form[action$='/acao'] button";
    click(&client, yes).await;
    wait_js(
        &client,
        "stopped",
        "return document.body.innerText.includes('parado')",
    )
    .await;

    // A stop with the list's live stream still open ends in order.
    client.goto(&format!("{base}/clientes")).await.unwrap();
    let (status, log) = tokio::task::block_in_place(|| run.stop());
    assert!(status.success(), "{log}");
    browser.close().await.unwrap();
    net.shutdown().await;
}
