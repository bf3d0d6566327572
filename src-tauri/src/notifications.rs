//! Desktop notifications. Job news goes through `tauri-plugin-notification`; the idle-GPU
//! warning carries two buttons, "Look at the job" (also a click on the notification) and
//! "Cancel the job". The plugin gives buttons only on mobile, so on Linux that warning is sent
//! with `notify-rust` (what the plugin uses there) and a thread waits for the answer; elsewhere
//! it is a plain notification, and the window's banner offers the same choices.

use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;
use usine_core::app_events::AppEvent;

/// A desktop notification; without a notification daemon it is only logged.
pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if let Err(error) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(%error, "no desktop notification");
    }
}

/// Warns that job `id`'s GPUs sit idle, with buttons to look at it or cancel it where the
/// desktop allows.
pub fn idle_warning<R: Runtime>(app: &AppHandle<R>, id: &str, title: &str, body: &str) {
    #[cfg(target_os = "linux")]
    {
        let (look, cancel) = usine_core::jobs::notices::idle_actions();
        let notification = notify_rust::Notification::new()
            .appname("Usine")
            .summary(title)
            .body(body)
            // "default" is a click on the notification; most desktops show only the others
            // as buttons, so looking at the job is offered both ways.
            .action("default", &look)
            .action("look", &look)
            .action("cancel", &cancel)
            .finalize();
        let (app, id) = (app.clone(), id.to_owned());
        // Showing and waiting talk to the session bus and block: never on the job tracker.
        std::thread::spawn(move || match notification.show() {
            Ok(handle) => {
                tracing::debug!(notification = handle.id(), job = %id, "idle warning shown");
                handle.wait_for_action(|action| answer(&app, &id, action));
            }
            Err(error) => tracing::warn!(%error, "no desktop notification"),
        });
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = id;
        show(app, title, body);
    }
}

/// Says a browser login must be done again before `cluster`'s certificate ends; a click, or
/// the "Log in again" button where the desktop shows buttons, opens the browser step at once.
pub fn login_needed<R: Runtime>(app: &AppHandle<R>, cluster: &str, title: &str, body: &str) {
    #[cfg(target_os = "linux")]
    {
        let again = usine_core::browser_login::log_in_again_words();
        let notification = notify_rust::Notification::new()
            .appname("Usine")
            .summary(title)
            .body(body)
            .action("default", &again)
            .action("login", &again)
            .finalize();
        let (app, cluster) = (app.clone(), cluster.to_owned());
        std::thread::spawn(move || match notification.show() {
            Ok(handle) => handle.wait_for_action(|action| {
                if matches!(action, "default" | "login") {
                    log_in_again(&app, &cluster);
                }
            }),
            Err(error) => tracing::warn!(%error, "no desktop notification"),
        });
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cluster;
        show(app, title, body);
    }
}

#[cfg(target_os = "linux")]
fn log_in_again<R: Runtime>(app: &AppHandle<R>, cluster: &str) {
    use tauri::Manager;
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    let (app, cluster) = (app.clone(), cluster.to_owned());
    tauri::async_runtime::spawn(async move {
        let state = app.state::<crate::state::AppState>();
        let questions = crate::commands::relay_questions(app.clone(), cluster.clone());
        let again = usine_core::cluster::log_in_again(
            &state.store,
            &state.connections,
            &cluster,
            questions,
        );
        if let Err(error) = again.await {
            tracing::warn!(%cluster, %error, "not logged in again from the notification");
            show(&app, &cluster, &error.to_string());
        }
    });
}

/// What the user chose on the idle warning: a click or "Look at the job" shows the job,
/// "Cancel the job" cancels it; closing it lets the job run.
#[cfg(target_os = "linux")]
fn answer<R: Runtime>(app: &AppHandle<R>, id: &str, action: &str) {
    use tauri::Manager;
    tracing::info!(job = %id, action, "answer to the idle warning");
    match action {
        "default" | "look" => {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
            let _ = crate::events::send(app, AppEvent::OpenJob(id.to_owned()));
        }
        "cancel" => {
            let (app, id) = (app.clone(), id.to_owned());
            tauri::async_runtime::spawn(async move {
                let state = app.state::<crate::state::AppState>();
                if let Err(error) = crate::jobs::cancel(&state, &id).await {
                    tracing::warn!(job = %id, ?error, "not cancelled from the idle warning");
                    let title = usine_core::tr!(en: "The job was not cancelled", fr: "Le job n'a pas été annulé");
                    show(&app, &title, &error.message);
                }
            });
        }
        _ => {}
    }
}

/// Against a real notification daemon (dunst) on the test's display and session bus, as
/// `make test` runs it: `scripts/with-keychain.sh xvfb-run -a cargo test -p usine-app`.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::path::Path;
    use std::process::{Child, Command};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use tauri::{Listener, Manager};
    use usine_core::jobs::{history, templates, tracking};
    use usine_core::store::Store;
    use usine_core::target::THIS_COMPUTER_ID;

    use super::*;
    use crate::state::AppState;

    struct Dunst(Child);

    impl Drop for Dunst {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn dunstctl(args: &[&str]) -> String {
        let out = Command::new("dunstctl").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// dunst, whose context menu is a stand-in for the user's pick: the line ending with the
    /// action named in `dir/pick` (dunst lists them as "#Label (summary) [id,action]").
    fn dunst(dir: &Path) -> Dunst {
        assert!(
            std::env::var_os("DISPLAY").is_some()
                && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "a display and a session bus are needed: run under scripts/with-keychain.sh xvfb-run -a"
        );
        let menu = dir.join("menu.sh");
        let pick = dir.join("pick");
        std::fs::write(
            &menu,
            format!(
                "#!/bin/sh\nexec grep -m1 -F \",$(cat '{}')]\"\n",
                pick.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&menu, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let config = dir.join("dunstrc");
        std::fs::write(
            &config,
            format!("[global]\n    dmenu = {}\n", menu.display()),
        )
        .unwrap();
        let daemon = Dunst(
            Command::new("dunst")
                .arg("-config")
                .arg(&config)
                .spawn()
                .unwrap(),
        );
        // Asked before it owns its name, the bus would start another dunst (without a display).
        until("dunst owns the notification service", || {
            let out = Command::new("gdbus")
                .args(["call", "--session", "--dest", "org.freedesktop.DBus"])
                .args(["--object-path", "/org/freedesktop/DBus"])
                .args(["--method", "org.freedesktop.DBus.NameHasOwner"])
                .arg("org.freedesktop.Notifications")
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).contains("true")
        });
        daemon
    }

    fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "{what}: not within 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn the_idle_warning_shows_the_job_on_a_click_or_its_button_and_cancels_it_from_its_other() {
        let dir = std::env::temp_dir().join(format!("usine-notices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let app = tauri::test::mock_builder()
            .build(tauri::test::mock_context(tauri::test::noop_assets()))
            .unwrap();
        app.manage(AppState::new(
            Store::open(&dir.join("usine.sqlite3")).unwrap(),
        ));
        let _daemon = dunst(&dir);
        let menu_pick = |action: &str| {
            std::fs::write(dir.join("pick"), action).unwrap();
            dunstctl(&["context"]);
        };
        let (opened, shown_jobs) = mpsc::channel();
        let (open_job, _) = AppEvent::OpenJob(String::new()).name_and_payload();
        app.listen(open_job, move |event| {
            let _ = opened.send(event.payload().to_owned());
        });

        // A click on the notification (dunst's default action) shows the job in the window.
        idle_warning(app.handle(), "job-a", "train is idle", "Its GPUs sit idle.");
        until("the warning is shown", || {
            dunstctl(&["count", "displayed"]) == "1"
        });
        dunstctl(&["action", "0"]);
        let shown = shown_jobs.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(shown, "\"job-a\"");
        // A mouse click also closes it; `dunstctl action` and `context` do not.
        dunstctl(&["close"]);

        // Its "Look at the job" button does the same.
        idle_warning(app.handle(), "job-b", "train is idle", "Its GPUs sit idle.");
        until("the warning is shown", || {
            dunstctl(&["count", "displayed"]) == "1"
        });
        menu_pick("look");
        let shown = shown_jobs.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(shown, "\"job-b\"");
        dunstctl(&["close"]);

        // "Cancel the job", picked in the notification's menu, cancels it: a job not sent yet
        // is withdrawn, as the window's Cancel button does.
        let state = app.state::<AppState>();
        let spec = templates::find("cpu-preprocessing").unwrap().spec;
        let queued = tracking::enqueue(&state.store, THIS_COMPUTER_ID, &spec).unwrap();
        idle_warning(
            app.handle(),
            &queued.id,
            "preprocess is idle",
            "Its GPUs sit idle.",
        );
        until("the second warning is shown", || {
            dunstctl(&["count", "displayed"]) == "1"
        });
        menu_pick("cancel");
        until("the job is cancelled", || {
            history::get(&state.store(), &queued.id).is_err()
        });
        assert!(
            shown_jobs.try_recv().is_err(),
            "looking at the job was not chosen"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
