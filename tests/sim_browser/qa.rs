//! Regressions of the outside QA pass that the page and the engine show.

use serde_json::{Value, json};

use super::{ANA, net_with_phones};
use crate::support::{Page, browser_slot, browser_slots, eventually};

const QR: &str = "document.querySelector('[data-ref]').getAttribute('data-ref')";

#[tokio::test]
async fn pairing_code_screen_expiry_and_refresh() {
    let _slot = browser_slot().await;
    let net = net_with_phones().await;
    let profile = tempfile::tempdir().unwrap();
    let page = Page::open(&net, profile.path()).await;
    let first_qr = page.wait(QR, 10).await;
    net.ok("/sim/config", json!({ "pair_code_ms": 3000 })).await;
    let ask = format!("return WPP.conn.startLinkDeviceCodeForPhoneNumber('{ANA}')");

    // While the code is live the page shows it instead of a QR.
    let code = page.js(&ask).await;
    page.wait(&format!("({QR}) === ''"), 5).await;
    assert_eq!(page.js("return WPP.conn.getAuthCode()").await, Value::Null);
    assert_eq!(page.js(&ask).await, code, "a live code is handed back");

    // When it expires the page gets a fresh QR, and asking again gives a new code.
    let fresh = page.wait(QR, 10).await;
    assert_ne!(fresh, first_qr);
    assert_eq!(
        page.js("return WPP.conn.getAuthCode()").await["fullCode"],
        fresh
    );
    assert_eq!(net.state().await["attempts"][0]["qr"], fresh);
    let second = page.js(&ask).await;
    assert_ne!(second, code);

    // refreshQR() ends the code: the next request is a new code, live on the server.
    net.ok("/sim/config", json!({ "pair_code_ms": 180000 }))
        .await;
    let refreshed = page.js("return WPP.conn.refreshQR()").await;
    assert_eq!(page.data_ref().await, refreshed["fullCode"]);
    let third = page.js(&ask).await;
    assert!(third != second && third != code);
    assert_eq!(
        page.events("conn.link_code_change").await,
        vec![code, second, third.clone()]
    );
    assert_eq!(page.data_ref().await, "");
    net.ok("/sim/pair", json!({ "phone": ANA, "code": third }))
        .await;
    page.wait_main().await;
    page.close().await;
    net.shutdown().await;
}

#[tokio::test]
async fn logout_while_closed_and_replacement_reach_the_page() {
    let _slots = browser_slots(2).await;
    let net = net_with_phones().await;
    let profile = tempfile::tempdir().unwrap();
    let page = Page::open(&net, profile.path()).await;
    page.link(&net, ANA).await;
    page.wait("window.__simApp.conn.stored", 5).await;
    page.close().await;
    eventually("page detached", 10, || async {
        (net.account(ANA).await["connected"] == false).then_some(())
    })
    .await;
    net.ok(&format!("/sim/phones/{ANA}/logout"), json!({}))
        .await;

    // The next load hears the logout, then shows a QR.
    let page = Page::open(&net, profile.path()).await;
    page.wait("window.__events.some(e => e.name === 'conn.logout')", 10)
        .await;
    assert_eq!(
        page.events("conn.logout_reason").await,
        vec![json!("unpaired")]
    );
    let qr = page.wait(QR, 10).await;
    assert_eq!(page.js("return WPP.conn.isAuthenticated()").await, false);

    // Linked again, then the phone scans a second page: the first one is logged out.
    net.ok("/sim/scan", json!({ "phone": ANA, "code": qr }))
        .await;
    page.wait_main().await;
    let other = tempfile::tempdir().unwrap();
    let second = Page::open(&net, other.path()).await;
    second.link(&net, ANA).await;
    page.wait(
        "window.__events.filter(e => e.name === 'conn.logout').length === 2",
        10,
    )
    .await;
    let reasons = page.events("conn.logout_reason").await;
    assert_eq!(reasons, vec![json!("unpaired"), json!("replaced")]);
    let next = page.wait(QR, 10).await;
    assert_ne!(next, qr);
    assert_eq!(page.js("return WPP.conn.isAuthenticated()").await, false);
    second.close().await;
    page.close().await;
    net.shutdown().await;
}
