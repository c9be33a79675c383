//! The chromedriver process: started on a free loopback port in its own process
//! group, so that killing the group also ends every Chromium it started.

use super::group;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::BridgeError;

/// A running chromedriver; dropping it kills its whole process group and waits.
#[derive(Debug)]
pub struct Driver {
    child: Option<Child>,
    port: u16,
    pgid: i32,
}

impl Driver {
    /// Starts `chromedriver` on a free port of 127.0.0.1 in a new process group.
    pub fn spawn(path: &Path) -> Result<Self, BridgeError> {
        use std::os::unix::process::CommandExt;

        let port = free_port()?;
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| BridgeError::Spawn {
                path: path.to_owned(),
                source,
            })?;
        let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        tracing::debug!(port, pgid, "chromedriver started");
        Ok(Self {
            child: Some(child),
            port,
            pgid,
        })
    }

    /// The WebDriver URL of this chromedriver.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process group holding chromedriver and every browser it started.
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Whether chromedriver is still running (it has not exited or been killed).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills the whole process group with SIGKILL and waits until it is empty.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = u32::try_from(self.pgid).unwrap_or(0);
        let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
        let _ = child.wait();
        group::kill_and_wait(pgid);
        tracing::debug!(pgid = self.pgid, "chromedriver group killed");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reserves a free loopback port by binding port 0 and releasing it.
fn free_port() -> Result<u16, BridgeError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(BridgeError::Port)?;
    let port = listener.local_addr().map_err(BridgeError::Port)?.port();
    Ok(port)
}
