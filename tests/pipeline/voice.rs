//! Voice notes through the pipeline, heard with the repository's real Whisper model:
//! speech made at test time (espeak-ng → opusenc, like a WhatsApp voice note), the
//! media served by the stand-in session. F18 (decoding, audio as a document, a note
//! that cannot be read) and F19 (media gone from the servers).

use orbitbot::client::permissions::grant;
use orbitbot::store::Permission;
use serde_json::json;

use super::{Bench, C1, C2, ago, qualify};
use crate::support::fake_ai::{FakeAi, FakeReply};
use crate::support::speech::voice_note;

const SENTENCE: &str = "Bom dia, eu gostaria de marcar uma consulta para amanhã.";

/// A voice note message of `id` from `from`.
fn ptt(id: &str, from: &str) -> serde_json::Value {
    json!({"id": id, "from": from, "type": "ptt", "hasMedia": true,
           "mimetype": "audio/ogg; codecs=opus", "seconds": 4})
}

fn heard_words(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("bom dia") && text.contains("gostaria")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_note_is_heard_echoed_stored_and_answered_by_the_ai() {
    let ai = FakeAi::start(|_, _| FakeReply::text("Claro! Que horas prefere?")).await;
    let mut b = Bench::with_ai(&["loja-a"], &ai.base_url(), "", &[], None).await;
    b.hearing().await;
    b.online("loja-a");
    b.media("V-1", voice_note(SENTENCE), "audio/ogg; codecs=opus");
    b.deliver("loja-a", ptt("V-1", C1));
    let echo = b.send().await;
    assert!(echo.text.starts_with("🎤 Transcrição: "), "{echo:#?}");
    assert!(heard_words(&echo.text), "{echo:#?}");
    assert_eq!(b.send().await.text, "Claro! Que horas prefere?");
    let asked = ai.requests()[0].body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        asked.starts_with("[áudio] ") && heard_words(&asked),
        "{asked}"
    );
    let db = b.store.tenant(&b.tenant("loja-a")).unwrap();
    let row = db.message("V-1").unwrap().unwrap();
    assert!(row.media.is_some(), "the media reference stays");
    assert!(
        heard_words(row.text.as_deref().unwrap_or_default()),
        "{row:?}"
    );
    b.nothing_more("loja-a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f18_audio_as_a_document_and_a_note_that_cannot_be_read() {
    let mut b = Bench::new(&["loja-a"]).await;
    b.hearing().await;
    b.online("loja-a");
    // audio sent as a document is heard like a voice note.
    b.media("A-2", voice_note(SENTENCE), "audio/ogg");
    let document = json!({"id": "A-2", "from": C1, "type": "document", "hasMedia": true,
        "mimetype": "audio/ogg", "filename": "audio.ogg"});
    b.deliver("loja-a", document);
    assert!(heard_words(&b.send().await.text));
    // bytes that fail to decrypt; a note whose bytes are not audio.
    b.media_fails("A-4", "media decryption failed");
    b.deliver("loja-a", ptt("A-4", C1));
    let mut garbage = voice_note(SENTENCE);
    garbage.truncate(300);
    b.media("A-5", garbage, "audio/ogg; codecs=opus");
    b.deliver("loja-a", ptt("A-5", C2));
    let replies = b.sends(2).await;
    for reply in &replies {
        assert!(
            reply.text.contains("Não consegui ouvir seu áudio"),
            "{reply:#?}"
        );
    }
    // The session goes on; each note was asked for once.
    b.nothing_more("loja-a").await;
    let downloads = b.downloads.lock().unwrap().clone();
    assert_eq!(downloads, ["A-2", "A-4", "A-5"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f19_media_gone_from_the_servers_is_asked_again_once_then_explained() {
    let mut b = Bench::new(&["loja-a"]).await;
    b.hearing().await;
    b.online("loja-a");
    b.media_fails(
        "OLD-1",
        "media expired: gone from the servers (re-upload failed)",
    );
    b.deliver("loja-a", ptt("OLD-1", C1));
    let reply = b.send().await;
    assert!(
        reply.text.contains("Áudio antigo indisponível"),
        "{reply:#?}"
    );
    b.nothing_more("loja-a").await;
    let downloads = b.downloads.lock().unwrap().clone();
    assert_eq!(downloads, ["OLD-1", "OLD-1"], "one more try, no loop");
    let db = b.store.tenant(&b.tenant("loja-a")).unwrap();
    assert!(
        db.pending_jobs().unwrap().is_empty(),
        "the job is done, not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_transcription_hears_nothing_and_a_long_note_is_refused() {
    let mut b = Bench::with(&["loja-a"], "[transcription]\nmax_seconds = 2\n").await;
    b.hearing().await;
    b.online("loja-a");
    let c2 = qualify(C2);
    let tenant = b.tenant("loja-a");
    grant(
        b.store.control(),
        &tenant,
        "transcricao",
        Some(&c2),
        Permission::Deny,
    )
    .unwrap();
    b.media("D-1", voice_note(SENTENCE), "audio/ogg; codecs=opus");
    b.deliver("loja-a", ptt("D-1", C2));
    b.nothing_more("loja-a").await;
    assert!(
        b.downloads.lock().unwrap().is_empty(),
        "not even downloaded"
    );

    b.media("L-1", voice_note(SENTENCE), "audio/ogg; codecs=opus");
    b.deliver("loja-a", ptt("L-1", C1));
    let reply = b.send().await;
    assert!(
        reply.text.contains("longo demais") && reply.text.contains("2 s"),
        "{reply:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_notes_at_once_are_both_heard() {
    let mut b = Bench::new(&["loja-a", "loja-b"]).await;
    b.hearing().await;
    b.online("loja-a");
    b.online("loja-b");
    b.media("T-1", voice_note(SENTENCE), "audio/ogg; codecs=opus");
    b.media("T-2", voice_note(SENTENCE), "audio/ogg; codecs=opus");
    b.deliver("loja-a", ptt("T-1", C1));
    b.deliver("loja-b", ptt("T-2", C1));
    let mut tenants: Vec<String> = Vec::new();
    for sent in b.sends(2).await {
        assert!(heard_words(&sent.text), "{sent:#?}");
        tenants.push(sent.tenant);
    }
    tenants.sort();
    assert_eq!(tenants, ["loja-a", "loja-b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcrever_hears_the_quoted_note_and_f19_an_old_one_is_explained_once() {
    let mut b = Bench::new(&["loja-a"]).await;
    b.hearing().await;
    b.online("loja-a");
    // Notes that waited too long are recorded, not heard ("Voltamos!" once).
    let mut old = ptt("OLD-1", C1);
    old["timestamp"] = json!(ago(86_400));
    b.deliver("loja-a", old);
    let mut older = ptt("OLD-30", C1);
    older["timestamp"] = json!(ago(30 * 86_400));
    b.deliver("loja-a", older);
    assert!(b.send().await.text.starts_with("Voltamos"));
    assert!(b.downloads.lock().unwrap().is_empty());

    b.media("OLD-1", voice_note(SENTENCE), "audio/ogg; codecs=opus");
    let ask = json!({"id": "Q-1", "from": C1, "body": "!transcrever", "quotedId": "OLD-1"});
    b.deliver("loja-a", ask);
    let heard = b.send().await;
    assert!(
        heard.text.starts_with("🎤 Transcrição: ") && heard_words(&heard.text),
        "{heard:#?}"
    );

    b.media_fails(
        "OLD-30",
        "media expired: gone from the servers (re-upload failed)",
    );
    let ask = json!({"id": "Q-2", "from": C1, "body": "!transcrever", "quotedId": "OLD-30"});
    b.deliver("loja-a", ask);
    assert!(b.send().await.text.contains("Áudio antigo indisponível"));
    b.deliver(
        "loja-a",
        json!({"id": "Q-3", "from": C1, "body": "!transcrever"}),
    );
    assert!(b.send().await.text.contains("responda ao áudio"));
    b.deliver("loja-a", json!({"id": "T-1", "from": C1, "body": "oi"}));
    let ask = json!({"id": "Q-4", "from": C1, "body": "!transcrever", "quotedId": "T-1"});
    b.deliver("loja-a", ask);
    assert!(b.send().await.text.contains("não é um áudio"));
    b.nothing_more("loja-a").await;
    let downloads = b.downloads.lock().unwrap().clone();
    assert_eq!(downloads, ["OLD-1", "OLD-30", "OLD-30"]);
    let db = b.store.tenant(&b.tenant("loja-a")).unwrap();
    let row = db.message("OLD-1").unwrap().unwrap();
    assert!(
        heard_words(row.text.as_deref().unwrap_or_default()),
        "stored: {row:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_a_note_is_heard_hears_it_again_and_answers_once() {
    let mut b = Bench::new(&["loja-a"]).await;
    b.hearing().await;
    b.online("loja-a");
    b.media("R-1", voice_note(SENTENCE), "audio/ogg; codecs=opus");
    b.deliver("loja-a", ptt("R-1", C1));
    while b.downloads.lock().unwrap().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    b.restart().await;
    b.online("loja-a");
    let heard = b.send().await;
    assert!(heard_words(&heard.text), "{heard:#?}");
    b.nothing_more("loja-a").await;
    let db = b.store.tenant(&b.tenant("loja-a")).unwrap();
    assert!(db.pending_jobs().unwrap().is_empty());
}
