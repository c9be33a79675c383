//! What the tenant page does: each form runs its operator command (`!iniciar`,
//! `!parar`, `!remover … confirmar`, `!backup`, `!restaurar … substituir`, `!link`,
//! `!persona`, `!permitir`/`!negar`, `!config`); stopping, removing and restoring
//! ask first. Backups download from here too, only the tenant's own.

use axum::Form;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::auth::Operator;
use super::html::Problem;
use super::tenant_page::lookup;
use super::{Shared, html};

const UNKNOWN: &str = "Ação desconhecida.";
const NO_BACKUP: &str = "Backup não encontrado para este cliente.";

/// The longest persona text (as the chat's `!persona` takes).
const PERSONA_MAX: usize = 2_000;

/// Bytes read at a time while a backup downloads.
const CHUNK: usize = 256 * 1024;

/// A tenant page form as posted.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    acao: String,
    #[serde(default)]
    valor: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    contato: String,
    #[serde(default)]
    chave: String,
    #[serde(default)]
    arquivo: String,
    #[serde(default)]
    confirmar: String,
}

/// The confirmation page's question.
#[derive(Debug, Default, Deserialize)]
pub struct Ask {
    #[serde(default)]
    acao: String,
    #[serde(default)]
    arquivo: String,
}

/// The actions that stop or replace something, with what the page says about them.
fn consequence(action: &str, tenant: &str, file: &str) -> Option<String> {
    Some(match action {
        "parar" => {
            format!(
                "Parar {tenant}? O WhatsApp dele deixa de responder até você tocar em \
                 Iniciar."
            )
        }
        "remover" => format!(
            "Remover {tenant}? A sessão, o perfil e todos os dados dele são apagados. \
             Os backups continuam em backups/{tenant}/."
        ),
        "restaurar" if !file.is_empty() => format!(
            "Restaurar {tenant} do backup {file}? Os dados atuais dele são substituídos pelos do \
             backup, e a sessão reinicia."
        ),
        _ => return None,
    })
}

/// `GET /clientes/{id}/confirmar?acao=…`: asks before stopping, removing, restoring.
pub async fn confirm(
    State(panel): State<Shared>,
    operator: Operator,
    Path(id): Path<String>,
    Query(ask): Query<Ask>,
) -> Result<Response, Problem> {
    let (id, _, _) = lookup(&panel.admin, &id)?;
    let name = id.as_str();
    let question =
        consequence(&ask.acao, name, &ask.arquivo).ok_or_else(|| html::not_found(UNKNOWN))?;
    if ask.acao == "restaurar" && !listed(&panel, &id, &ask.arquivo) {
        return Err(html::not_found(NO_BACKUP));
    }
    let fields = [
        ("acao", ask.acao.as_str()),
        ("arquivo", ask.arquivo.as_str()),
        ("confirmar", "sim"),
    ];
    let body = format!(
        "<h1>Confirmar</h1><div class=\"box\"><p>{}</p><div class=\"actions\">{}\
         <a href=\"/clientes/{name}\"><button type=\"button\">Cancelar</button></a></div></div>",
        html::esc(&question),
        html::action(
            &operator,
            &format!("/clientes/{name}/acao"),
            &fields,
            "Sim, confirmar"
        ),
    );
    Ok(html::page("Confirmar", Some(&operator), &body).into_response())
}

/// `POST /clientes/{id}/acao`.
pub async fn submit(
    State(panel): State<Shared>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, Problem> {
    operator.check(&form.csrf)?;
    let (id, _, _) = lookup(&panel.admin, &id)?;
    let name = id.as_str();
    let needs_yes = consequence(&form.acao, name, &form.arquivo).is_some();
    if needs_yes && form.confirmar != "sim" {
        let to = format!(
            "/clientes/{name}/confirmar?acao={}&arquivo={}",
            encode(&form.acao),
            encode(&form.arquivo)
        );
        return Ok(Redirect::to(&to).into_response());
    }
    let notes = match command(&form, name) {
        Ok(words) => {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            panel.run(&operator, &words).await
        }
        Err(Unfit::Field(why)) => vec![why],
        Err(Unfit::Unknown) => return Err(html::not_found(UNKNOWN)),
    };
    panel.logins.tell(&operator, notes);
    let back = match form.acao.as_str() {
        "remover"
            if panel
                .admin
                .store
                .control()
                .tenant(&id)
                .ok()
                .flatten()
                .is_none() =>
        {
            "/clientes".to_owned()
        }
        _ => format!("/clientes/{name}"),
    };
    Ok(Redirect::to(&back).into_response())
}

/// Why a form cannot become a command: the text for the operator.
enum Unfit {
    /// Not an action of this page.
    Unknown,
    /// A field is wrong; the text says which and how.
    Field(String),
}

/// The operator command a form stands for, as words. Each field keeps to its place:
/// a one-word field with spaces or empty is refused, so nothing moves between fields.
fn command(form: &ActionForm, tenant: &str) -> Result<Vec<String>, Unfit> {
    let mut words = vec![form.acao.clone(), tenant.to_owned()];
    match form.acao.as_str() {
        "iniciar" | "parar" | "backup" | "link" => {}
        "remover" => words.push("confirmar".to_owned()),
        "restaurar" => {
            let file = form.arquivo.trim();
            if !crate::backup::is_archive_name(file) {
                return Err(Unfit::Field(NO_BACKUP.to_owned()));
            }
            words.extend([file.to_owned(), "substituir".to_owned()]);
        }
        "persona" => {
            let text = filled("Persona", &form.valor)?;
            if text.chars().count() > PERSONA_MAX {
                let why = format!("A persona pode ter no máximo {PERSONA_MAX} caracteres.");
                return Err(Unfit::Field(why));
            }
            words.push(text);
        }
        "permitir" | "negar" => {
            words.push(one_word("Comando ou recurso", &form.item)?);
            words.push(contact(&form.contato)?);
        }
        "config" => {
            words.push(one_word("Chave", &form.chave)?);
            words.push(form.valor.trim().to_owned());
        }
        _ => return Err(Unfit::Unknown),
    }
    Ok(words)
}

/// The optional contact field: empty, a phone or a chat address.
fn contact(value: &str) -> Result<String, Unfit> {
    let text = value.trim();
    let phone = crate::chat::PhoneNumber::parse(text).is_ok();
    if text.is_empty() || phone || crate::chat::ChatId::parse(text).is_ok() {
        return Ok(text.to_owned());
    }
    Err(Unfit::Field(super::records::WRONG_CONTACT.to_owned()))
}

/// A field that must hold something.
fn filled(label: &str, value: &str) -> Result<String, Unfit> {
    match value.trim() {
        "" => Err(Unfit::Field(format!("Preencha o campo \"{label}\"."))),
        text => Ok(text.to_owned()),
    }
}

/// A field that must hold one word.
fn one_word(label: &str, value: &str) -> Result<String, Unfit> {
    let text = filled(label, value)?;
    match text.contains(char::is_whitespace) {
        true => Err(Unfit::Field(format!(
            "O campo \"{label}\" é uma palavra só, sem espaços."
        ))),
        false => Ok(text),
    }
}

/// `GET /clientes/{id}/backups/{file}`: one of the tenant's own archives.
pub async fn download(
    State(panel): State<Shared>,
    _: Operator,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let (id, _, _) = lookup(&panel.admin, &id)?;
    // Only a name the tenant's own folder lists: no path, no other tenant's file.
    if !listed(&panel, &id, &file) {
        return Err(html::not_found(NO_BACKUP));
    }
    let dir = crate::backup::tenant_dir(&panel.admin.config.paths.backups, &id);
    let opened = tokio::fs::File::open(dir.join(&file))
        .await
        .map_err(|_| html::not_found(NO_BACKUP))?;
    let stream = futures_util::stream::unfold(opened, |mut f| async move {
        let mut buf = vec![0u8; CHUNK];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zstd"),
    );
    if let Ok(value) = format!("attachment; filename=\"{file}\"").parse() {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Whether `file` is one of the tenant's own archives, by name.
fn listed(panel: &Shared, id: &crate::tenant::TenantId, file: &str) -> bool {
    let dir = crate::backup::tenant_dir(&panel.admin.config.paths.backups, id);
    let archives = crate::backup::list(&dir).unwrap_or_default();
    archives.iter().any(|a| a.name == file)
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
