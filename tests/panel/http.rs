//! The panel over plain HTTP, served in process on 127.0.0.1 over a [`Desk`] (store,
//! sessions without browsers, the control plane). Cookies are handled by hand, so
//! their attributes are checked as sent.

use std::sync::OnceLock;
use std::time::Duration;

use orbitbot::panel::{Panel, links};
use orbitbot::session::SessionEvent;
use orbitbot::store::{HistoryEntry, LogRecord};
use orbitbot::tenant::SessionState;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use tokio::sync::watch;

use crate::admin_cmds::Desk;
use crate::common::tid;

const OPERATOR: &str = "5511999990000";
const PASSWORD: &str = "senha-do-painel-1";

/// One argon2 hash for every test (hashing is slow in a debug build).
fn hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| orbitbot::panel::password::hash(PASSWORD).unwrap())
}

/// A panel on a free port of 127.0.0.1 over a fresh desk.
pub(crate) struct Site {
    pub(crate) desk: Desk,
    base: String,
    http: reqwest::Client,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

/// A signed-in browser, as far as the server can tell: a cookie and a CSRF token.
#[derive(Clone)]
struct Login {
    cookie: String,
    csrf: String,
}

/// What came back.
struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn cookies(&self) -> Vec<String> {
        let all = self.headers.get_all(SET_COOKIE).iter();
        all.filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The value of the first `name="csrf"` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

impl Site {
    async fn start() -> Site {
        Site::with_ttl(900).await
    }

    async fn with_ttl(ttl_s: u64) -> Site {
        let panel = format!(
            "\n[panel]\nlisten = \"127.0.0.1:1\"\nbase_url = \"http://127.0.0.1:1\"\n\
             link_ttl_s = {ttl_s}\n[[panel.users]]\nphone = \"{OPERATOR}\"\n\
             password_hash = \"{}\"\n",
            hash()
        );
        let desk = Desk::with("", &panel);
        let config = orbitbot::config::Config::load(&desk.path("admin.toml")).unwrap();
        let settings = config.panel.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = watch::channel(false);
        let panel = Panel::new(std::sync::Arc::clone(&desk.admin), settings);
        let server = tokio::spawn(orbitbot::panel::serve(listener, panel, stopped));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Site {
            desk,
            base,
            http,
            stop,
            server,
        }
    }

    async fn get(&self, path: &str, login: Option<&Login>) -> Got {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(login) = login {
            request = request.header("cookie", &login.cookie);
        }
        Got::from(request.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Got {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .form(form);
        Got::from(request.send().await.unwrap()).await
    }

    /// The text of the QR image at `path`.
    async fn qr(&self, path: &str) -> Option<String> {
        let got = self.http.get(format!("{}{path}", self.base)).send().await;
        let bytes = got.unwrap().bytes().await.unwrap();
        orbitbot::demo::decode(&bytes)
    }

    /// Logs in through the form, as a browser would.
    async fn login(&self) -> Login {
        let got = self.try_login(OPERATOR, PASSWORD).await;
        assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
        let cookie = got
            .cookies()
            .into_iter()
            .find(|c| c.starts_with("orbitbot_sessao="))
            .unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let page = self
            .get(
                "/clientes",
                Some(&Login {
                    cookie: cookie.clone(),
                    csrf: String::new(),
                }),
            )
            .await;
        Login {
            csrf: page.csrf(),
            cookie,
        }
    }

    async fn try_login(&self, phone: &str, password: &str) -> Got {
        let form = self.get("/entrar", None).await;
        let pre = form.cookies()[0].split(';').next().unwrap().to_owned();
        let fields = [
            ("telefone", phone),
            ("senha", password),
            ("csrf", &form.csrf()),
        ];
        self.post("/entrar", &pre, &fields).await
    }

    /// Reads a server-sent event stream until `until` shows up in it (or 10 s pass).
    async fn events(&self, path: &str, login: Option<&Login>, until: &str) -> String {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(login) = login {
            request = request.header("cookie", &login.cookie);
        }
        let mut response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let mut seen = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !seen.contains(until) {
            let chunk = tokio::time::timeout_at(deadline, response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
                _ => break,
            }
        }
        seen
    }

    async fn close(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        self.desk.close().await;
    }
}

impl Got {
    async fn from(response: reqwest::Response) -> Got {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Got {
            status,
            headers,
            body,
        }
    }
}

fn qr(tenant: &str, code: &str, seq: u32) -> SessionEvent {
    SessionEvent::Qr {
        tenant: tid(tenant),
        code: code.to_owned(),
        seq,
    }
}

/// The token of the URL in a `!link` answer.
fn token_of(answer: &str) -> String {
    let at = answer.find("/l/").expect("a link") + 3;
    answer[at..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn nothing_but_the_login_is_visible_without_a_session() {
    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    site.desk.say("!backup loja-da-ana").await;
    let forged = Login {
        cookie: "orbitbot_sessao=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        csrf: String::new(),
    };
    for login in [None, Some(&forged)] {
        for path in [
            "/",
            "/clientes",
            "/clientes/loja-da-ana",
            "/clientes/loja-da-ana/logs",
            "/clientes/loja-da-ana/historico",
            "/clientes/loja-da-ana/confirmar?acao=remover",
            "/clientes/loja-da-ana/backups/x.tar.zst",
            "/eventos",
        ] {
            let got = site.get(path, login).await;
            assert_eq!(got.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(got.location(), "/entrar", "{path}");
            assert!(!got.body.contains("loja-da-ana"), "{path}");
        }
    }
    let cookie = &forged.cookie;
    let form = [("csrf", "x"), ("acao", "remover"), ("confirmar", "sim")];
    let got = site.post("/clientes/loja-da-ana/acao", cookie, &form).await;
    assert_eq!(got.location(), "/entrar");
    let got = site
        .post("/clientes/novo", "", &[("nome", "intrusa")])
        .await;
    assert_eq!(got.location(), "/entrar");
    assert_eq!(site.desk.tenants(), ["loja-da-ana"]);

    let page = site.get("/entrar", None).await;
    assert_eq!(page.status, StatusCode::OK);
    for header in [
        "content-security-policy",
        "x-frame-options",
        "cache-control",
    ] {
        assert!(page.headers.contains_key(header), "{header}");
    }
    site.close().await;
}

#[tokio::test]
async fn login_refuses_wrong_passwords_and_foreign_forms_then_locks() {
    let site = Site::start().await;
    let form = site.get("/entrar", None).await;
    let pre = &form.cookies()[0];
    for part in ["orbitbot_entrada=", "HttpOnly", "SameSite=Strict"] {
        assert!(pre.contains(part), "{pre}");
    }
    assert!(!pre.contains("Secure"), "plain http: {pre}");

    // A form posted from elsewhere has no matching CSRF cookie.
    let fields = [("telefone", OPERATOR), ("senha", PASSWORD), ("csrf", "x")];
    let got = site.post("/entrar", "", &fields).await;
    assert_eq!(got.status, StatusCode::FORBIDDEN);
    assert!(
        got.cookies()
            .iter()
            .all(|c| !c.starts_with("orbitbot_sessao"))
    );

    for (phone, password) in [(OPERATOR, "senha-errada"), ("5511912345678", PASSWORD)] {
        let got = site.try_login(phone, password).await;
        assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{phone}");
        assert!(
            got.body.contains("Telefone ou senha incorretos"),
            "{}",
            got.body
        );
        assert!(
            got.cookies()
                .iter()
                .all(|c| !c.starts_with("orbitbot_sessao"))
        );
    }

    let empty = site.try_login("", "").await;
    assert_eq!(
        empty.status,
        StatusCode::UNAUTHORIZED,
        "a clear answer, not a parse error"
    );
    assert!(empty.body.contains("Telefone ou senha incorretos"));

    let login = site.login().await;
    let session = site
        .try_login(OPERATOR, PASSWORD)
        .await
        .cookies()
        .join(" | ");
    for part in ["orbitbot_sessao=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(part), "{session}");
    }
    let page = site.get("/clientes", Some(&login)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&format!("+{OPERATOR}")));

    // Logging out needs the form's token, and ends the session.
    let got = site.post("/sair", &login.cookie, &[("csrf", "x")]).await;
    assert_eq!(got.status, StatusCode::FORBIDDEN);
    assert_eq!(
        site.get("/clientes", Some(&login)).await.status,
        StatusCode::OK
    );
    let got = site
        .post("/sair", &login.cookie, &[("csrf", &login.csrf)])
        .await;
    assert_eq!(got.location(), "/entrar");
    assert_eq!(
        site.get("/clientes", Some(&login)).await.location(),
        "/entrar"
    );

    // Every attempt is audited, like operator commands.
    let audit = site.desk.audit();
    let logins: Vec<_> = audit
        .iter()
        .filter(|e| e.command.starts_with("painel: entrar"))
        .collect();
    assert!(
        logins
            .iter()
            .any(|e| e.actor == OPERATOR && e.outcome == "ok")
    );
    assert!(
        logins
            .iter()
            .any(|e| e.actor == OPERATOR && e.outcome.contains("incorretos"))
    );

    // Five wrong passwords in a row lock the phone, even against the right one.
    for _ in 0..5 {
        site.try_login(OPERATOR, "senha-errada").await;
    }
    let got = site.try_login(OPERATOR, PASSWORD).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    assert!(got.body.contains("Muitas tentativas"), "{}", got.body);
    site.close().await;
}

#[tokio::test]
async fn every_form_needs_its_sessions_csrf_token() {
    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    let login = site.login().await;
    let other = site.login().await;
    assert_ne!(login.csrf, other.csrf);
    let url = "/clientes/loja-da-ana/acao";
    let change = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("acao", "config"),
            ("chave", "grupos"),
            ("valor", "todos"),
        ]
    };
    for csrf in ["", "x"] {
        let got = site.post(url, &login.cookie, &change(csrf)).await;
        assert_eq!(got.status, StatusCode::FORBIDDEN, "{csrf:?}");
        assert!(got.body.contains("formulário expirou"), "{}", got.body);
    }
    let foreign: &'static str = Box::leak(other.csrf.clone().into_boxed_str());
    let got = site.post(url, &login.cookie, &change(foreign)).await;
    assert_eq!(got.status, StatusCode::FORBIDDEN, "another session's token");
    let got = site
        .post("/clientes/novo", &login.cookie, &[("nome", "outra")])
        .await;
    assert_eq!(got.status, StatusCode::FORBIDDEN);
    assert!(site.desk.settings("loja-da-ana").is_empty());
    assert_eq!(site.desk.tenants(), ["loja-da-ana"]);

    let mine: &'static str = Box::leak(login.csrf.clone().into_boxed_str());
    let got = site.post(url, &login.cookie, &change(mine)).await;
    assert_eq!(got.status, StatusCode::SEE_OTHER);
    assert_eq!(got.location(), "/clientes/loja-da-ana");
    let settings = site.desk.settings("loja-da-ana");
    assert_eq!(settings, [("grupos".to_owned(), "todos".to_owned())]);
    let audit = site.desk.audit();
    let last = audit.last().unwrap();
    assert_eq!(last.actor, OPERATOR);
    assert_eq!(last.command, "!config loja-da-ana grupos todos");
    // What the command answered shows once on the next page.
    let page = site.get("/clientes/loja-da-ana", Some(&login)).await;
    assert!(page.body.contains("grupos"), "{}", page.body);
    assert!(page.body.contains("class=\"note\""), "{}", page.body);
    let again = site.get("/clientes/loja-da-ana", Some(&login)).await;
    assert!(!again.body.contains("class=\"note\""));
    site.close().await;
}

#[tokio::test]
async fn stopping_removing_and_restoring_ask_first() {
    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    let login = site.login().await;
    let url = "/clientes/loja-da-ana/acao";
    let asked = [("csrf", login.csrf.as_str()), ("acao", "remover")];
    let got = site.post(url, &login.cookie, &asked).await;
    assert_eq!(got.status, StatusCode::SEE_OTHER);
    assert!(
        got.location().contains("/confirmar?acao=remover"),
        "{}",
        got.location()
    );
    assert_eq!(site.desk.tenants(), ["loja-da-ana"], "not removed yet");
    let page = site.get(got.location(), Some(&login)).await;
    assert!(page.body.contains("Remover loja-da-ana?"), "{}", page.body);
    assert!(page.body.contains("name=\"confirmar\" value=\"sim\""));

    let sure = [
        ("csrf", login.csrf.as_str()),
        ("acao", "remover"),
        ("confirmar", "sim"),
    ];
    let got = site.post(url, &login.cookie, &sure).await;
    assert_eq!(got.location(), "/clientes");
    assert!(site.desk.tenants().is_empty());
    let list = site.get("/clientes", Some(&login)).await;
    assert!(list.body.contains("loja-da-ana removido"), "{}", list.body);

    // Restoring needs one of the tenant's own archives, named: nothing is replaced.
    site.desk.add("loja-do-beto");
    for file in ["", "x", "../loja-da-ana/20260101T000000Z.tar.zst"] {
        let vague = [
            ("csrf", login.csrf.as_str()),
            ("acao", "restaurar"),
            ("arquivo", file),
            ("confirmar", "sim"),
        ];
        let got = site
            .post("/clientes/loja-do-beto/acao", &login.cookie, &vague)
            .await;
        assert_eq!(got.location(), "/clientes/loja-do-beto", "{file:?}");
        let page = site.get("/clientes/loja-do-beto", Some(&login)).await;
        assert!(page.body.contains("Backup não encontrado"), "{file:?}");
    }
    let ask = "/clientes/loja-do-beto/confirmar?acao=restaurar&arquivo=..%2F..%2Fetc%2Fpasswd";
    let page = site.get(ask, Some(&login)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("passwd"), "{}", page.body);
    site.close().await;
}

#[tokio::test]
async fn each_field_keeps_to_its_place_and_forms_from_other_sites_are_refused() {
    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    let login = site.login().await;
    let url = "/clientes/loja-da-ana/acao";
    let csrf = login.csrf.as_str();
    let note = |page: Got| {
        let at = page.body.find("class=\"note\"").expect("a note");
        page.body[at..].split("</div>").next().unwrap().to_owned()
    };
    let long = "a".repeat(2_001);
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("acao", "persona"), ("valor", &long)], "no máximo 2000"),
        (
            &[("acao", "permitir"), ("item", "ia"), ("contato", "abc")],
            "Contato inválido",
        ),
        (
            &[
                ("acao", "negar"),
                ("item", "ia 5511977776666"),
                ("contato", ""),
            ],
            "palavra só",
        ),
        (
            &[
                ("acao", "config"),
                ("chave", "ausencia Fechado hoje"),
                ("valor", ""),
            ],
            "palavra só",
        ),
        (
            &[("acao", "config"), ("chave", ""), ("valor", "x")],
            "Preencha o campo",
        ),
        (&[("acao", "persona"), ("valor", "  ")], "Preencha o campo"),
    ];
    for (fields, said) in cases {
        let mut form = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        let got = site.post(url, &login.cookie, &form).await;
        assert_eq!(got.location(), "/clientes/loja-da-ana");
        let page = site.get("/clientes/loja-da-ana", Some(&login)).await;
        assert!(note(page).contains(said), "{fields:?}");
    }
    assert!(site.desk.settings("loja-da-ana").is_empty());
    assert!(
        site.desk
            .store
            .control()
            .permissions(&tid("loja-da-ana"))
            .unwrap()
            .is_empty()
    );

    // A form posted from another site is refused even with a good token.
    let change = [
        ("csrf", csrf),
        ("acao", "config"),
        ("chave", "grupos"),
        ("valor", "todos"),
    ];
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let got = site
            .http
            .post(format!("{}{url}", site.base))
            .header("cookie", &login.cookie)
            .header(header, value)
            .form(&change)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::FORBIDDEN, "{header}");
    }
    assert!(site.desk.settings("loja-da-ana").is_empty());
    let got = site
        .http
        .post(format!("{}{url}", site.base))
        .header("cookie", &login.cookie)
        .header("origin", &site.base)
        .form(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::SEE_OTHER, "our own origin");
    assert_eq!(site.desk.settings("loja-da-ana").len(), 1);

    // Wrong addresses and contacts get pt-BR answers too.
    let missing = site.get("/nada", Some(&login)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Página não encontrada"));
    let wrong_method = site.get("/sair", Some(&login)).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        wrong_method.body.contains("Pedido inválido"),
        "{}",
        wrong_method.body
    );
    let json = site
        .http
        .post(format!("{}/entrar", site.base))
        .json(&serde_json::json!({"telefone": OPERATOR}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(json.text().await.unwrap().contains("Pedido inválido"));
    let odd = site
        .get(
            "/clientes/loja-da-ana/historico?contato=%22%3E%3Cx",
            Some(&login),
        )
        .await;
    assert!(odd.body.contains("Contato inválido"), "{}", odd.body);
    site.close().await;
}

#[tokio::test]
async fn a_live_link_shows_one_tenants_current_qr_until_revoked_or_linked() {
    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    site.desk.add("loja-do-beto");
    let answer = site.desk.say("!link loja-da-ana").await;
    assert!(answer.contains("http://127.0.0.1:1/l/"), "{answer}");
    assert!(answer.contains("até conectar"), "{answer}");
    let token = token_of(&answer);
    let page = site.get(&format!("/l/{token}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("loja-da-ana"));
    assert!(!page.body.contains("loja-do-beto"));

    // Each tenant shows its own code; the link shows only its tenant's, live.
    let board = &site.desk.admin.board;
    board.on_event(&qr("loja-do-beto", "codigo-do-beto", 7));
    let png = format!("/l/{token}/qr.png");
    let none = site.get(&png, None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "no code of ana yet");
    board.on_event(&qr("loja-da-ana", "codigo-da-ana-1", 1));
    let events = format!("/l/{token}/eventos");
    let seen = site.events(&events, None, "\"seq\":1").await;
    assert!(seen.contains("event: qr"), "{seen}");
    assert!(!seen.contains("\"seq\":7"), "{seen}");
    assert_eq!(site.qr(&png).await.as_deref(), Some("codigo-da-ana-1"));
    board.on_event(&qr("loja-da-ana", "codigo-da-ana-2", 2));
    assert_eq!(site.qr(&png).await.as_deref(), Some("codigo-da-ana-2"));

    // A new link revokes the old one entirely, open pages included.
    let open = {
        let (http, url) = (site.http.clone(), format!("{}{events}", site.base));
        tokio::spawn(async move {
            let mut response = http.get(url).send().await.unwrap();
            let mut seen = String::new();
            while let Ok(Ok(Some(chunk))) =
                tokio::time::timeout(Duration::from_secs(15), response.chunk()).await
            {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains("expirado") {
                    break;
                }
            }
            seen
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let newer = token_of(&site.desk.say("!link loja-da-ana").await);
    let seen = open.await.unwrap();
    assert!(seen.contains("event: expirado"), "{seen}");
    assert_ne!(newer, token);
    for path in [format!("/l/{token}"), png.clone(), events.clone()] {
        let got = site.get(&path, None).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!got.body.contains("loja-da-ana"), "{path}");
    }

    // Linked: the stream says so (with data, or browsers drop the event), then the
    // link says so and shows no code any more.
    let admin = std::sync::Arc::clone(&site.desk.admin);
    let pushed = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        admin.board.on_event(&SessionEvent::Online {
            tenant: tid("loja-da-ana"),
            me: Some("5511999990010@c.us".to_owned()),
            lid: None,
        });
    });
    let seen = site
        .events(&format!("/l/{newer}/eventos"), None, "conectado")
        .await;
    assert!(seen.contains("event: conectado\ndata: {}"), "{seen}");
    pushed.await.unwrap();
    links::mark_linked(&site.desk.store, &tid("loja-da-ana")).unwrap();
    let page = site.get(&format!("/l/{newer}"), None).await;
    assert!(page.body.contains("conectado ✅"), "{}", page.body);
    let got = site.get(&format!("/l/{newer}/qr.png"), None).await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);

    // A new attempt from the page needs a live, unlinked token.
    let got = site.post(&format!("/l/{newer}/novo"), "", &[]).await;
    assert_eq!(got.status, StatusCode::NOT_FOUND, "already linked");
    let beto = token_of(&site.desk.say("!link loja-do-beto").await);
    let got = site.post(&format!("/l/{beto}/novo"), "", &[]).await;
    assert_eq!(got.location(), format!("/l/{beto}"));
    let got = site.post(&format!("/l/{token}/novo"), "", &[]).await;
    assert_eq!(got.status, StatusCode::NOT_FOUND, "revoked");

    // Expired, made up or malformed tokens open nothing.
    let (expired, _) =
        links::create(&site.desk.store, &tid("loja-do-beto"), Duration::ZERO, None).unwrap();
    let made_up = "A".repeat(43);
    for bad in [
        expired.as_str(),
        made_up.as_str(),
        "..%2F..%2Fclientes",
        "x",
    ] {
        let got = site.get(&format!("/l/{bad}"), None).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{bad}");
        assert!(got.body.contains("expirou ou foi substituído"), "{bad}");
    }
    site.close().await;
}

#[tokio::test]
async fn a_stop_by_the_operator_wins_over_an_open_link() {
    let site = Site::start().await;
    let ana = site.desk.add("loja-da-ana");
    let control = site.desk.store.control();
    let now = u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap();
    let ttl = Duration::from_secs(60);
    let (token, _) = links::create(&site.desk.store, &ana, ttl, None).unwrap();
    control.set_state(&ana, SessionState::Stopped, now).unwrap();
    let again = format!("/l/{token}/novo");
    let got = site.post(&again, "", &[]).await;
    assert_eq!(got.location(), format!("/l/{token}"));
    assert_eq!(
        site.desk.sessions.state(&ana),
        None,
        "a stopped tenant stays stopped"
    );
    let page = site.get(&format!("/l/{token}"), None).await;
    assert!(
        !page.body.contains("id=\"again\">"),
        "no new-QR button for a stop"
    );

    control
        .set_state(&ana, SessionState::QrExpired, now)
        .unwrap();
    let page = site.get(&format!("/l/{token}"), None).await;
    assert!(
        page.body.contains("id=\"again\">"),
        "the button after an attempt ran out"
    );
    site.post(&again, "", &[]).await;
    assert!(
        site.desk.sessions.state(&ana).is_some(),
        "a new attempt started"
    );

    // `!parar` revokes the tenant's link.
    site.desk.say("!parar loja-da-ana").await;
    let got = site.get(&format!("/l/{token}"), None).await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);
    site.close().await;
}

#[tokio::test]
async fn the_live_list_stops_when_its_login_ends() {
    let site = Site::start().await;
    let login = site.login().await;
    let open = {
        let request = site
            .http
            .get(format!("{}/eventos", site.base))
            .header("cookie", &login.cookie);
        tokio::spawn(async move {
            let mut response = request.send().await.unwrap();
            let started = std::time::Instant::now();
            let limit = Duration::from_secs(20);
            while let Ok(Ok(Some(_))) = tokio::time::timeout(limit, response.chunk()).await {}
            started.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = site
        .post("/sair", &login.cookie, &[("csrf", &login.csrf)])
        .await;
    assert_eq!(got.location(), "/entrar");
    let lasted = open.await.unwrap();
    assert!(
        lasted < Duration::from_secs(15),
        "the stream ended: {lasted:?}"
    );
    site.close().await;
}

#[tokio::test]
async fn link_needs_the_panel_and_a_tenant_not_online() {
    let desk = Desk::new();
    desk.add("loja-da-ana");
    let answer = desk.say("!link loja-da-ana").await;
    assert!(answer.contains("painel está desligado"), "{answer}");
    desk.close().await;

    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    let now = u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap();
    let control = site.desk.store.control();
    control
        .set_state(&tid("loja-da-ana"), SessionState::Online, now)
        .unwrap();
    let answer = site.desk.say("!link loja-da-ana").await;
    assert!(answer.contains("já está online"), "{answer:?}");
    let answer = site.desk.say("!link loja-inexistente").await;
    assert!(answer.contains("não encontrado"), "{answer}");
    site.close().await;
}

#[tokio::test]
async fn ids_in_urls_reach_only_their_own_tenant() {
    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    site.desk.add("loja-do-beto");
    let secret = HistoryEntry {
        id: "SEGREDO1".to_owned(),
        chat: "5511999990001@c.us".to_owned(),
        from: "5511999990001@c.us".to_owned(),
        from_me: false,
        kind: "chat".to_owned(),
        text: Some("segredo do beto".to_owned()),
        media: None,
        t_ms: 1_700_000_000_000,
        ack: 0,
        edited: false,
        revoked: false,
        truncated: false,
    };
    site.desk
        .db("loja-do-beto")
        .record_message(&secret)
        .unwrap();
    site.desk.say("!backup loja-do-beto").await;
    let beto_dir = site.desk.path("backups/loja-do-beto");
    let archive = std::fs::read_dir(&beto_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let name = archive.file_name().into_string().unwrap();
    let login = site.login().await;

    let own = site
        .http
        .get(format!(
            "{}/clientes/loja-do-beto/backups/{name}",
            site.base
        ))
        .header("cookie", &login.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let disposition = own.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains(&name), "{disposition}");
    let bytes = own.bytes().await.unwrap();
    assert_eq!(bytes, std::fs::read(archive.path()).unwrap());
    for path in [
        format!("/clientes/loja-da-ana/backups/{name}"),
        format!("/clientes/loja-da-ana/backups/..%2Floja-do-beto%2F{name}"),
        "/clientes/loja-da-ana/backups/%2E%2E%2F%2E%2E%2Fdata%2Fcontrol.redb".to_owned(),
        "/clientes/admin".to_owned(),
        "/clientes/admin/logs".to_owned(),
        "/clientes/..%2Floja-do-beto".to_owned(),
        "/clientes/LOJA-DO-BETO%00/historico".to_owned(),
    ] {
        let got = site.get(&path, Some(&login)).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!got.body.contains("segredo"), "{path}");
    }
    let history = "/clientes/loja-da-ana/historico?contato=5511999990001";
    let page = site.get(history, Some(&login)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("segredo"));
    let page = site.get(
        "/clientes/loja-do-beto/historico?contato=5511999990001",
        Some(&login),
    );
    assert!(page.await.body.contains("segredo do beto"));

    // Restoring ana from beto's archive is refused by the restore itself.
    let form = [
        ("csrf", login.csrf.as_str()),
        ("acao", "restaurar"),
        ("arquivo", name.as_str()),
        ("confirmar", "sim"),
    ];
    site.post("/clientes/loja-da-ana/acao", &login.cookie, &form)
        .await;
    let ana = site.desk.db("loja-da-ana").history(None, 10).unwrap();
    assert!(ana.is_empty(), "ana's data untouched");
    let page = site.get("/clientes/loja-da-ana", Some(&login)).await;
    assert!(page.body.contains("❌"), "{}", page.body);
    site.close().await;
}

#[tokio::test]
async fn tenant_pages_show_states_logs_and_history_paged_and_escaped() {
    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    let db = site.desk.db("loja-da-ana");
    let log = |t_ms, level: &str, message: &str| LogRecord {
        t_ms,
        level: level.to_owned(),
        target: "orbitbot::session".to_owned(),
        message: message.to_owned(),
    };
    let t0 = 1_700_000_000_000;
    db.append_logs(&[
        log(t0, "INFO", "session state state=qr detail=\"\""),
        log(t0 + 1, "INFO", "session state state=online detail=\"\""),
        log(t0 + 2, "ERROR", "send failed <script>alert(1)</script>"),
        log(t0 + 3, "INFO", "answered command=menu"),
    ])
    .unwrap();
    for i in 0..120u64 {
        let entry = HistoryEntry {
            id: format!("M{i:03}"),
            chat: "5511999990001@c.us".to_owned(),
            from: "5511999990001@c.us".to_owned(),
            from_me: false,
            kind: "chat".to_owned(),
            text: Some(format!("mensagem número {i:03}")),
            media: None,
            t_ms: t0 + i * 1_000,
            ack: 0,
            edited: false,
            revoked: false,
            truncated: false,
        };
        db.record_message(&entry).unwrap();
    }
    let login = site.login().await;
    let page = site.get("/clientes/loja-da-ana", Some(&login)).await;
    for shown in [
        "Histórico de estados",
        "aguardando QR",
        "online",
        "Backups",
        "Persona",
        "Nada esperando envio",
        "send failed &lt;script&gt;",
    ] {
        assert!(page.body.contains(shown), "{shown}");
    }
    assert!(!page.body.contains("<script>alert"));

    let logs = site
        .get("/clientes/loja-da-ana/logs?nivel=ERROR", Some(&login))
        .await;
    assert!(
        logs.body.contains("send failed &lt;script&gt;"),
        "{}",
        logs.body
    );
    assert!(!logs.body.contains("<script>alert"));
    assert!(!logs.body.contains("answered command=menu"));
    let logs = site
        .get("/clientes/loja-da-ana/logs?busca=MENU", Some(&login))
        .await;
    assert!(logs.body.contains("answered command=menu"));
    assert!(!logs.body.contains("send failed"));

    let base = "/clientes/loja-da-ana/historico?contato=%2B55+11+99999-0001";
    let first = site.get(base, Some(&login)).await;
    assert!(first.body.contains("mensagem número 119"));
    assert!(first.body.contains("mensagem número 070"));
    assert!(!first.body.contains("mensagem número 069"));
    assert!(first.body.contains("mais antigas"));
    let last = site.get(&format!("{base}&pagina=3"), Some(&login)).await;
    assert!(last.body.contains("mensagem número 000"));
    assert!(last.body.contains("mensagem número 019"));
    assert!(!last.body.contains("mensagem número 020"));
    assert!(!last.body.contains("mais antigas"));
    let odd = site.get(&format!("{base}&pagina=abc"), Some(&login)).await;
    assert_eq!(
        odd.status,
        StatusCode::OK,
        "a wrong page number shows the first"
    );
    assert!(odd.body.contains("mensagem número 119"));
    site.close().await;
}

#[tokio::test]
async fn the_tenant_list_streams_state_changes_to_signed_in_operators() {
    let site = Site::start().await;
    site.desk.add("loja-da-ana");
    let login = site.login().await;
    let board = std::sync::Arc::clone(&site.desk.admin);
    let pushed = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        board.board.on_event(&SessionEvent::State {
            tenant: tid("loja-da-ana"),
            state: SessionState::Syncing,
            detail: None,
        });
    });
    let seen = site.events("/eventos", Some(&login), "syncing").await;
    assert!(seen.contains("event: estado"), "{seen}");
    assert!(seen.contains("\"tenant\":\"loja-da-ana\""), "{seen}");
    assert!(seen.contains("\"label\":\"sincronizando\""), "{seen}");
    pushed.await.unwrap();
    site.close().await;
}

#[test]
fn panel_password_prints_a_hash_of_the_password_read() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orbitbot"))
        .arg("panel-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"uma-senha-longa\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(orbitbot::panel::password::verify(
        "uma-senha-longa",
        hash.trim()
    ));

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orbitbot"))
        .arg("panel-password")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"curta\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let error = String::from_utf8(out.stderr).unwrap();
    assert!(error.contains("pelo menos 10 caracteres"), "{error}");
}
