//! The WhatsApp simulator (`orbitbot simulator`): a fake WhatsApp network with virtual
//! phones, a fake WhatsApp Web page and a fake engine playing wa-js. SIMULATOR.md is
//! its contract.
//!
//! - [`world`]: all state in memory, behind one lock.
//! - [`address`]: phone, LID, chat and group addresses.
//! - [`message`]: messages and how each party sees them.
//! - [`network`]: delivery, echoes, acks, edits, revokes.
//! - [`linking`]: link attempts, QR rotation, pairing codes, logout, conflict.
//! - [`control`]: the control API (`/sim/...`).
//! - [`page`]: the page, the engine, and the page's own protocol.
//! - [`extract`] and [`error`]: JSON bodies and `{"error": ...}` answers.

mod address;
mod control;
pub mod error;
mod extract;
mod linking;
mod message;
mod network;
mod page;
mod world;

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::SimError;
use world::{Shared, Sim};

/// Largest request body: multi-MB media are posted as base64.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The fake engine's source, to inject as an init script like wa-js.
pub fn engine_js() -> &'static str {
    page::ENGINE_JS
}

/// A running simulator; [`Simulator::shutdown`] stops it.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    sim: Sim,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Binds `addr` (port 0 picks a free one) and serves the simulator in the background.
    pub async fn start(addr: SocketAddr) -> Result<Self, SimError> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let sim = Shared::new();
        let app = control::routes()
            .merge(page::routes())
            .fallback(error::no_route)
            .method_not_allowed_fallback(error::wrong_method)
            .layer(axum::middleware::map_response(error::json_errors))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(sim.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("simulator server failed: {e}");
            }
        });
        tracing::info!(%addr, "simulator listening");
        Ok(Self {
            addr,
            sim,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL, `http://<addr>/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        self.sim.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// `orbitbot simulator`: serves on `listen` until Ctrl-C, printing the bound address.
pub async fn serve(listen: SocketAddr) -> Result<(), SimError> {
    let simulator = Simulator::start(listen).await?;
    println!("listening on {}", simulator.addr());
    let _ = tokio::signal::ctrl_c().await;
    simulator.shutdown().await;
    Ok(())
}
