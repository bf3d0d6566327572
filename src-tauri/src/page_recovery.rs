//! Brings the window's page back when WebKit's web process dies (a crash, or WebKit's own
//! memory limit). Neither Tauri nor wry does: the window would stay blank until the user
//! restarts Usine, with nothing in the log to say why. Drafts and jobs live in the store, so
//! reloading the page loses nothing the user made. Only Linux (WebKitGTK) has this signal;
//! WebView2 and WKWebView restart their pages themselves.

use tauri::{Runtime, WebviewWindow};

/// Watches `window`'s page: reloads it after its web process ends; logs each time it has
/// loaded, and when it stops or starts responding again.
pub fn watch<R: Runtime>(window: &WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    if let Err(error) = window.with_webview(|webview| {
        use webkit2gtk::WebViewExt;
        let view = webview.inner();
        view.connect_web_process_terminated(|view, reason| {
            tracing::error!(?reason, "the window's page stopped; loading it again");
            view.reload();
        });
        view.connect_is_web_process_responsive_notify(|view| {
            if view.is_web_process_responsive() {
                tracing::info!("the window's page responds again");
            } else {
                tracing::warn!("the window's page does not respond");
            }
        });
        view.connect_load_changed(|_, event| {
            if event == webkit2gtk::LoadEvent::Finished {
                tracing::debug!("the window's page has loaded");
            }
        });
    }) {
        tracing::warn!(%error, "the window's page cannot be watched for crashes");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}
