//! `/entrar` and `/sair`: the login form (with its own CSRF cookie, since there is no
//! session yet) and logging out.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tracing::{info, warn};

use super::auth::{self, Operator};
use super::{Shared, html, token};

/// The login form as posted.
#[derive(Debug, Deserialize)]
pub struct Login {
    #[serde(default)]
    telefone: String,
    #[serde(default)]
    senha: String,
    #[serde(default)]
    csrf: String,
}

/// The logout form as posted.
#[derive(Debug, Deserialize)]
pub struct Logout {
    #[serde(default)]
    csrf: String,
}

/// `GET /entrar`.
pub async fn form(State(panel): State<Shared>) -> Response {
    render(&panel, StatusCode::OK, None, "")
}

fn render(panel: &Shared, status: StatusCode, error: Option<&str>, phone: &str) -> Response {
    let pre = token::random();
    let error = error.map_or(String::new(), |e| {
        format!(
            "<div class=\"note bad\" role=\"alert\">{}</div>",
            html::esc(e)
        )
    });
    let body = format!(
        "<h1>Entrar no painel</h1>{error}<form class=\"box\" method=\"post\" action=\"/entrar\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{pre}\">\
         <label>Telefone (o seu, de operador)<br><input name=\"telefone\" inputmode=\"tel\" \
         autocomplete=\"username\" required value=\"{}\" placeholder=\"5511988887777\"></label><br>\
         <label>Senha<br><input name=\"senha\" type=\"password\" autocomplete=\"current-password\" \
         required></label><br><button>Entrar</button></form>\
         <p class=\"muted\">A senha é a que gerou com <code>orbitbot panel-password</code>.</p>",
        html::esc(phone)
    );
    let cookie = auth::set_cookie(&panel.settings, auth::PRE_COOKIE, &pre, false);
    (
        status,
        [(header::SET_COOKIE, cookie)],
        html::page("Entrar", None, &body),
    )
        .into_response()
}

/// `POST /entrar`.
pub async fn submit(
    State(panel): State<Shared>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    parts: Parts,
    Form(login): Form<Login>,
) -> Response {
    let pre = auth::cookie(&parts, auth::PRE_COOKIE).unwrap_or_default();
    if pre.is_empty() || !token::same(&pre, &login.csrf) {
        return render(&panel, StatusCode::FORBIDDEN, Some(html::FORM_EXPIRED), "");
    }
    let checked = {
        let panel = panel.clone();
        let (phone, password) = (login.telefone.clone(), login.senha);
        tokio::task::spawn_blocking(move || panel.logins.login(&panel.settings, &phone, &password))
            .await
    };
    let outcome = match &checked {
        Ok(Ok(_)) => "ok".to_owned(),
        Ok(Err(e)) => format!("recusado: {e}"),
        Err(_) => "erro".to_owned(),
    };
    audit(&panel, &login.telefone, &address, &outcome);
    match checked {
        Ok(Ok(session)) => {
            info!(address = %address.ip(), "panel login");
            let settings = &panel.settings;
            let cookies = [
                auth::set_cookie(settings, auth::COOKIE, &session, false),
                auth::set_cookie(settings, auth::PRE_COOKIE, "", true),
            ];
            let mut response = Redirect::to("/clientes").into_response();
            for cookie in cookies {
                if let Ok(value) = cookie.parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Ok(Err(e)) => {
            let reason = match e {
                auth::LoginError::Wrong => "wrong phone or password",
                auth::LoginError::Locked(_) => "phone locked after failures",
            };
            warn!(address = %address.ip(), reason, "panel login refused");
            let text = e.to_string();
            render(
                &panel,
                StatusCode::UNAUTHORIZED,
                Some(&text),
                &login.telefone,
            )
        }
        Err(e) => {
            warn!(error = %e, "panel login check failed");
            let text = crate::replies::internal_error();
            render(&panel, StatusCode::INTERNAL_SERVER_ERROR, Some(text), "")
        }
    }
}

/// Every login attempt goes to the audit log, like operator commands do.
fn audit(panel: &Shared, typed: &str, address: &SocketAddr, outcome: &str) {
    let actor = crate::chat::PhoneNumber::parse(typed)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|_| typed.chars().take(20).collect());
    let asker = crate::admin::Asker {
        chat: String::new(),
        actor,
    };
    let what = format!("painel: entrar de {}", address.ip());
    panel.admin.audit(&asker, None, &what, outcome);
}

/// `POST /sair`.
pub async fn logout(
    State(panel): State<Shared>,
    operator: Operator,
    Form(form): Form<Logout>,
) -> Result<Response, super::html::Problem> {
    operator.check(&form.csrf)?;
    panel.logins.logout(&operator);
    let gone = auth::set_cookie(&panel.settings, auth::COOKIE, "", true);
    Ok(([(header::SET_COOKIE, gone)], Redirect::to("/entrar")).into_response())
}
