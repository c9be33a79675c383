//! AI answers through the pipeline, against a fake OpenAI-compatible endpoint on
//! 127.0.0.1 that records every request: the exact request (model, system prompt,
//! history order, no media), personas per tenant, the daily budget, the endpoint down,
//! a message deleted while the AI thinks, and a restart mid-question.

use std::time::Duration;

use orbitbot::bridge::event::BridgeEvent;
use orbitbot::client::permissions::grant;
use orbitbot::client::{Notice, tokens_today};
use orbitbot::store::Permission;
use serde_json::{Value, json};

use super::{ACCOUNT, Bench, C1, C2, GROUP, qualify};
use crate::support::fake_ai::{FakeAi, FakeReply};

const LOJA: &str = r#"
name = "loja"
description = "Atendente da Loja da Ana"
system = "Você é a atendente da Loja da Ana."
temperature = 0.3
language = "português do Brasil"
forbidden = ["política"]
signature = "— Loja da Ana"
"#;

/// The system prompt the `loja` persona gives for tenant `loja-a`, word for word.
const LOJA_SYSTEM: &str = "Você é a atendente da Loja da Ana.\n\n\
    Você responde pelo WhatsApp de loja-a.\n\n\
    Responda sempre em português do Brasil.\n\n\
    Não fale sobre: política. Se perguntarem, diga com educação que não pode ajudar com \
    esse assunto.\n\n\
    Respostas curtas, em texto simples, próprias para o WhatsApp.";

const BETO: &str = "Você é o Beto, mecânico direto e bem-humorado da Oficina do Beto.";

/// What a base64 image body looks like (it must never reach the endpoint).
fn base64_blob() -> String {
    "/9j/4AAQSkZJRgABAQAAAQABAAD".repeat(12)
}

/// The owner's note-to-self on `tenant`.
fn owner_note(b: &Bench, tenant: &str, id: &str, text: &str) {
    let note = json!({"id": id, "from": ACCOUNT, "to": ACCOUNT, "fromMe": true, "body": text});
    b.deliver(tenant, note);
}

/// The account's own message to `to` coming back, as the page reports our sends.
fn echo(b: &Bench, tenant: &str, id: &str, to: &str, text: &str) {
    let own = json!({"id": id, "from": ACCOUNT, "to": to, "fromMe": true, "body": text});
    b.deliver(tenant, own);
}

/// The contents of a request's messages, as `role: content` lines.
fn dialogue(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn the_request_holds_the_persona_the_turns_in_order_and_no_media() {
    let ai = FakeAi::start(|_, n| match n {
        0 => FakeReply::text("Olá! Como posso ajudar?"),
        1 => FakeReply::text("Que foto bonita!"),
        _ => FakeReply::text("Entregamos em 2 dias úteis."),
    })
    .await;
    let files = [("commands/personas/loja.toml", LOJA)];
    let mut b = Bench::with_ai(
        &["loja-a"],
        &ai.base_url(),
        "history_turns = 4\n",
        &files,
        Some("sk-teste-123"),
    )
    .await;
    b.online("loja-a");
    owner_note(&b, "loja-a", "N-1", "!persona loja");
    let set = b.send().await;
    assert!(
        set.text.contains("loja (Atendente da Loja da Ana)"),
        "{set:#?}"
    );

    b.deliver("loja-a", json!({"id": "M-1", "from": C1, "body": "oi"}));
    let first = b.send().await;
    assert_eq!(first.text, "Olá! Como posso ajudar?\n\n— Loja da Ana");
    echo(&b, "loja-a", &first.id, C1, &first.text);
    let photo = json!({"id": "M-2", "from": C1, "type": "image", "hasMedia": true,
        "mimetype": "image/jpeg", "body": "foto do produto"});
    b.deliver("loja-a", photo);
    assert_eq!(b.send().await.text, "Que foto bonita!\n\n— Loja da Ana");
    let blob = json!({"id": "M-3", "from": C1, "type": "image", "hasMedia": true,
        "mimetype": "image/jpeg", "body": base64_blob()});
    b.deliver("loja-a", blob);
    b.deliver(
        "loja-a",
        json!({"id": "M-4", "from": C1, "body": "qual o prazo de entrega?"}),
    );
    let last = b.send().await;
    assert_eq!(last.text, "Entregamos em 2 dias úteis.\n\n— Loja da Ana");
    b.nothing_more("loja-a").await;

    let requests = ai.requests();
    assert_eq!(requests.len(), 3, "the base64 image is not a question");
    assert!(requests.iter().all(|r| r.path == "/v1/chat/completions"));
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer sk-teste-123"))
    );
    let expected = json!({
        "model": "modelo-teste",
        "stream": false,
        "temperature": 0.3,
        "messages": [
            {"role": "system", "content": LOJA_SYSTEM},
            {"role": "user", "content": "oi"},
            {"role": "assistant", "content": "Olá! Como posso ajudar?\n\n— Loja da Ana"},
            {"role": "user", "content": "[imagem] foto do produto"},
            {"role": "user", "content": "[imagem]"},
            {"role": "user", "content": "qual o prazo de entrega?"},
        ],
    });
    assert_eq!(
        requests[2].body,
        expected,
        "{:#?}",
        dialogue(&requests[2].body)
    );
    for request in &requests {
        assert!(
            !request.body.to_string().contains("/9j/4AAQ"),
            "base64 sent: {request:?}"
        );
    }
}

#[tokio::test]
async fn two_tenants_with_their_own_personas_answer_the_same_text_differently() {
    let ai = FakeAi::start(|body, _| {
        let system = body["messages"][0]["content"].as_str().unwrap_or_default();
        if system.contains("Loja da Ana") {
            FakeReply::text("Oi! Aqui é a Loja da Ana 🌸")
        } else if system.contains("Oficina do Beto") {
            FakeReply::text("E aí! Oficina do Beto na área 🔧")
        } else {
            FakeReply::text("resposta genérica")
        }
    })
    .await;
    let files = [("commands/personas/loja.toml", LOJA)];
    let mut b = Bench::with_ai(&["loja-a", "oficina"], &ai.base_url(), "", &files, None).await;
    b.online("loja-a");
    b.online("oficina");
    owner_note(&b, "loja-a", "N-1", "!persona loja");
    // The owner may copy the operator's form, with the tenant's name first.
    owner_note(&b, "oficina", "N-2", &format!("!persona oficina {BETO}"));
    let notes = b.sends(2).await;
    assert!(
        notes.iter().any(|n| n.text.contains("texto livre")),
        "{notes:#?}"
    );

    b.deliver(
        "loja-a",
        json!({"id": "A-1", "from": C1, "body": "oi, tudo bem?"}),
    );
    b.deliver(
        "oficina",
        json!({"id": "B-1", "from": C1, "body": "oi, tudo bem?"}),
    );
    let mut answers: Vec<(String, String)> = b
        .sends(2)
        .await
        .into_iter()
        .map(|s| (s.tenant, s.text))
        .collect();
    answers.sort();
    assert_eq!(
        answers,
        [
            (
                "loja-a".to_owned(),
                "Oi! Aqui é a Loja da Ana 🌸\n\n— Loja da Ana".to_owned()
            ),
            (
                "oficina".to_owned(),
                "E aí! Oficina do Beto na área 🔧".to_owned()
            ),
        ]
    );
    let systems: Vec<String> = ai
        .requests()
        .iter()
        .map(|r| {
            r.body["messages"][0]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        systems
            .iter()
            .any(|s| s.starts_with(BETO) && s.contains("oficina")),
        "{systems:#?}"
    );
}

#[tokio::test]
async fn a_spent_budget_falls_back_to_commands_and_tells_the_operator_once() {
    let ai = FakeAi::start(|_, _| FakeReply::Answer {
        text: "resposta da IA".into(),
        tokens: Some(60),
    })
    .await;
    let mut b = Bench::with_ai(
        &["loja-a"],
        &ai.base_url(),
        "daily_tokens = 100\n",
        &[],
        None,
    )
    .await;
    b.online("loja-a");
    b.deliver(
        "loja-a",
        json!({"id": "M-1", "from": C1, "body": "primeira pergunta"}),
    );
    assert_eq!(b.send().await.text, "resposta da IA");
    b.deliver(
        "loja-a",
        json!({"id": "M-2", "from": C1, "body": "segunda pergunta"}),
    );
    assert_eq!(b.send().await.text, "resposta da IA");
    let notice = b.notices.recv().await.unwrap();
    assert!(
        matches!(notice, Notice::AiBudgetSpent { budget: 100, .. }),
        "{notice:?}"
    );

    // Over budget: no more requests; one short notice per contact, commands still work.
    b.deliver(
        "loja-a",
        json!({"id": "M-3", "from": C2, "body": "terceira pergunta"}),
    );
    let resting = b.send().await;
    assert!(resting.text.contains("em pausa por hoje"), "{resting:#?}");
    b.deliver(
        "loja-a",
        json!({"id": "M-4", "from": C2, "body": "e agora?"}),
    );
    b.deliver("loja-a", json!({"id": "M-5", "from": C2, "body": "!menu"}));
    assert_eq!(b.send().await.text, "Menu: 1) Horários 2) Preços");
    b.deliver(
        "loja-a",
        json!({"id": "M-6", "from": C1, "body": "!resumo"}),
    );
    assert!(b.send().await.text.contains("em pausa por hoje"));
    b.nothing_more("loja-a").await;
    assert_eq!(ai.count(), 2);
    assert!(b.notices.try_recv().is_err(), "the operator is told once");
    let db = b.store.tenant(&b.tenant("loja-a")).unwrap();
    assert_eq!(
        tokens_today(&db, &b.config, orbitbot::clock::now_ms()).unwrap(),
        120
    );

    // The operator raises the budget: the AI answers again.
    db.set_setting("ia.tokens_dia", "1000").unwrap();
    b.deliver(
        "loja-a",
        json!({"id": "M-7", "from": C2, "body": "e agora, funciona?"}),
    );
    assert_eq!(b.send().await.text, "resposta da IA");
    assert_eq!(ai.count(), 3);
    assert!(b.notices.try_recv().is_err());
}

#[tokio::test]
async fn an_endpoint_down_gets_the_fallback_and_a_flaky_one_is_retried() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/v1");
    let mut b = Bench::with_ai(&["loja-a"], &url, "", &[], None).await;
    b.online("loja-a");
    b.deliver(
        "loja-a",
        json!({"id": "M-1", "from": C1, "body": "alguém aí?"}),
    );
    let fallback = b.send().await;
    assert!(
        fallback.text.contains("não consegui responder agora"),
        "{fallback:#?}"
    );
    let notice = b.notices.recv().await.unwrap();
    assert!(matches!(notice, Notice::AiFailed { .. }), "{notice:?}");
    let db = b.store.tenant(&b.tenant("loja-a")).unwrap();
    assert!(db.pending_jobs().unwrap().is_empty());

    let flaky = FakeAi::start(|_, n| match n {
        0 => FakeReply::Status(503),
        _ => FakeReply::text("voltei"),
    })
    .await;
    let mut b = Bench::with_ai(&["loja-a"], &flaky.base_url(), "", &[], None).await;
    b.online("loja-a");
    b.deliver(
        "loja-a",
        json!({"id": "M-1", "from": C1, "body": "alguém aí?"}),
    );
    assert_eq!(b.send().await.text, "voltei");
    assert_eq!(flaky.count(), 2);
}

#[tokio::test]
async fn a_message_deleted_while_the_ai_thinks_gets_no_answer() {
    let ai = FakeAi::start(|_, _| {
        FakeReply::Delay(
            Duration::from_millis(1_500),
            Box::new(FakeReply::text("tarde")),
        )
    })
    .await;
    let mut b = Bench::with_ai(&["loja-a"], &ai.base_url(), "", &[], None).await;
    b.online("loja-a");
    b.deliver(
        "loja-a",
        json!({"id": "M-1", "from": C1, "body": "esquece, mandei errado"}),
    );
    while ai.count() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let revoke = BridgeEvent::Revoke {
        id: Some("M-1".into()),
        chat_id: Some(qualify(C1)),
        from: Some(qualify(C1)),
        author: None,
    };
    b.event("loja-a", revoke);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    b.nothing_more("loja-a").await;
    let db = b.store.tenant(&b.tenant("loja-a")).unwrap();
    assert!(db.pending_jobs().unwrap().is_empty());
    assert!(db.message("M-1").unwrap().unwrap().revoked);
}

#[tokio::test]
async fn a_restart_mid_question_asks_again_and_answers_once() {
    let ai = FakeAi::start(|_, n| match n {
        0 => FakeReply::Delay(Duration::from_secs(30), Box::new(FakeReply::text("nunca"))),
        _ => FakeReply::text("resposta depois do reinício"),
    })
    .await;
    let mut b = Bench::with_ai(&["loja-a"], &ai.base_url(), "", &[], None).await;
    b.online("loja-a");
    b.deliver(
        "loja-a",
        json!({"id": "M-1", "from": C1, "body": "pergunta longa"}),
    );
    while ai.count() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.restart().await;
    b.online("loja-a");
    let answer = b.send().await;
    assert_eq!(answer.text, "resposta depois do reinício");
    b.nothing_more("loja-a").await;
    assert_eq!(ai.count(), 2);
}

#[tokio::test]
async fn ai_follows_permissions_and_group_mentions() {
    let ai = FakeAi::start(|_, _| FakeReply::text("resposta da IA")).await;
    let mut b = Bench::with_ai(&["loja-a"], &ai.base_url(), "", &[], None).await;
    let tenant = b.tenant("loja-a");
    let c2 = qualify(C2);
    grant(
        b.store.control(),
        &tenant,
        "ia",
        Some(&c2),
        Permission::Deny,
    )
    .unwrap();
    grant(
        b.store.control(),
        &tenant,
        "grupos",
        None,
        Permission::Allow,
    )
    .unwrap();
    b.online("loja-a");
    b.deliver(
        "loja-a",
        json!({"id": "M-1", "from": C2, "body": "sem IA pra mim?"}),
    );
    b.deliver(
        "loja-a",
        json!({"id": "M-2", "from": C2, "body": "!resumo"}),
    );
    let denied = b.send().await;
    assert!(
        denied.text.contains("IA não está disponível"),
        "{denied:#?}"
    );
    let chatter = json!({"id": "G-1", "from": GROUP, "author": qualify(C1), "isGroupMsg": true,
        "body": "bom dia grupo"});
    b.deliver("loja-a", chatter);
    let mention = json!({"id": "G-2", "from": GROUP, "author": qualify(C1), "isGroupMsg": true,
        "body": "@loja que horas abre?", "mentions": [format!("{ACCOUNT}@c.us")]});
    b.deliver("loja-a", mention);
    let answer = b.send().await;
    assert_eq!(
        (answer.to.as_str(), answer.text.as_str()),
        (GROUP, "resposta da IA")
    );
    b.nothing_more("loja-a").await;
    assert_eq!(ai.count(), 1);
}

#[tokio::test]
async fn an_ai_command_sends_its_prompt_after_the_chat_so_far() {
    let ai = FakeAi::start(|_, _| FakeReply::text("Resumo: pediu o cardápio.")).await;
    let mut b = Bench::with_ai(
        &["loja-a"],
        &ai.base_url(),
        "history_turns = 2\n",
        &[],
        None,
    )
    .await;
    b.online("loja-a");
    b.deliver("loja-a", json!({"id": "M-1", "from": C1, "body": "!menu"}));
    let menu = b.send().await;
    echo(&b, "loja-a", &menu.id, C1, &menu.text);
    b.deliver(
        "loja-a",
        json!({"id": "M-2", "from": C1, "body": "!resumo"}),
    );
    assert_eq!(b.send().await.text, "Resumo: pediu o cardápio.");
    let lines = dialogue(&ai.requests()[0].body);
    assert_eq!(
        lines[1..],
        [
            "user: !menu".to_owned(),
            "assistant: Menu: 1) Horários 2) Preços".to_owned(),
            "user: Resuma a conversa".to_owned(),
        ]
    );
}
