//! Starting and stopping: on a given listener, blocking for the CLI, or in the background for
//! tests in other crates.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::MockConfig;
use crate::app::{App, log, router};
use crate::conn::{Cut, CuttableListener};
use crate::error::MockError;

async fn serve_app(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), MockError> {
    let service = router(app).into_make_service_with_connect_info::<Cut>();
    axum::serve(CuttableListener(listener), service)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Serves on `listener` until `shutdown` resolves (in-flight requests are finished first).
/// The caller bound the listener, so it knows the address (bind port 0 for tests).
pub async fn serve(
    config: MockConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), MockError> {
    serve_app(Arc::new(App::new(config)?), listener, shutdown).await
}

fn runtime() -> Result<tokio::runtime::Runtime, MockError> {
    // One thread is plenty for an emulator, and keeps its logs in arrival order.
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// For the CLI: binds `addr`, prints `pmhlink mock-hub: listening on http://ADDR` to stderr and
/// serves until Ctrl-C.
pub fn run_blocking(config: MockConfig, addr: &str) -> Result<(), MockError> {
    let app = Arc::new(App::new(config)?);
    runtime()?.block_on(async {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| MockError::Bind {
                addr: addr.to_owned(),
                source,
            })?;
        log(format_args!(
            "listening on http://{}",
            listener.local_addr()?
        ));
        let ctrl_c = async {
            // Without a signal handler the hub is stopped the way it was started: killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        serve_app(app, listener, ctrl_c).await?;
        log(format_args!("stopped"));
        Ok(())
    })
}

/// A hub serving on loopback from a background thread; dropping it stops the hub and waits
/// for the thread.
#[derive(Debug)]
pub struct MockHandle {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), MockError>>>,
}

impl MockHandle {
    /// Stops the hub and reports how serving ended.
    pub fn stop(mut self) -> Result<(), MockError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), MockError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(served)) => served,
            Some(Err(_)) => Err(MockError::Io(std::io::Error::other(
                "the mock hub thread panicked",
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// Starts a hub on `127.0.0.1:0` on a background thread with its own runtime. Everything that
/// can fail (profile, fault rules, state file, bind) fails here, not in the thread.
pub fn spawn_local(config: MockConfig) -> Result<MockHandle, MockError> {
    let app = Arc::new(App::new(config)?);
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let rt = runtime()?;
    let listener = {
        let _in_runtime = rt.enter();
        TcpListener::from_std(std_listener)?
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("pmhlink-mock-hub".into())
        .spawn(move || {
            rt.block_on(serve_app(app, listener, async {
                let _ = stopped.await;
            }))
        })?;
    Ok(MockHandle {
        url: format!("http://{addr}"),
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}
