//! The TypeScript view of the types the UI receives, generated from the Rust types so that the
//! two can never drift apart. `ui/src/lib/bindings.ts` is this module's output, checked in; the
//! test below fails when it is stale and says how to refresh it.

use ts_rs::{Config, TS};

use crate::jobs::{checks, drafts, history, scheduler, slurm, spec, targets, templates};
use crate::{
    cluster, cluster_files, discovery, host_metrics, sites, ssh, ssh_config, target, transfer,
};

/// Every type exported to the UI, as one TypeScript module.
pub fn typescript_module() -> String {
    let cfg = Config::new();
    let decls = [
        target::Target::decl(&cfg),
        target::TargetKind::decl(&cfg),
        host_metrics::HostMetrics::decl(&cfg),
        sites::Site::decl(&cfg),
        sites::Partition::decl(&cfg),
        sites::StorageArea::decl(&cfg),
        sites::LoginMethod::decl(&cfg),
        sites::GpuVendor::decl(&cfg),
        cluster::ClusterSettings::decl(&cfg),
        cluster::NewCluster::decl(&cfg),
        cluster::Login::decl(&cfg),
        cluster::Jump::decl(&cfg),
        cluster::ClusterView::decl(&cfg),
        cluster::AskedQuestion::decl(&cfg),
        discovery::ClusterProfile::decl(&cfg),
        discovery::PartitionInfo::decl(&cfg),
        discovery::AccountInfo::decl(&cfg),
        discovery::StorageArea::decl(&cfg),
        ssh_config::Candidates::decl(&cfg),
        spec::JobSpec::decl(&cfg),
        spec::Environment::decl(&cfg),
        spec::PythonEnv::decl(&cfg),
        spec::EnvVar::decl(&cfg),
        spec::JobArray::decl(&cfg),
        spec::Notify::decl(&cfg),
        templates::Template::decl(&cfg),
        checks::Problem::decl(&cfg),
        checks::Severity::decl(&cfg),
        checks::CostEstimate::decl(&cfg),
        drafts::Draft::decl(&cfg),
        targets::DraftView::decl(&cfg),
        crate::jobs::inputs::Attached::decl(&cfg),
        history::JobEntry::decl(&cfg),
        slurm::JobRecord::decl(&cfg),
        slurm::JobState::decl(&cfg),
        scheduler::Logs::decl(&cfg),
        crate::gpu::series::Summary::decl(&cfg),
        crate::settings::Settings::decl(&cfg),
        crate::onboarding::Guide::decl(&cfg),
        crate::lang::Lang::decl(&cfg),
        crate::onboarding::Place::decl(&cfg),
        transfer::Summary::decl(&cfg),
        transfer::Progress::decl(&cfg),
        transfer::Report::decl(&cfg),
        transfer::Started::decl(&cfg),
        transfer::Direction::decl(&cfg),
        transfer::State::decl(&cfg),
        transfer::FileState::decl(&cfg),
        transfer::FileLine::decl(&cfg),
        transfer::FilesPage::decl(&cfg),
        transfer::Cancelled::decl(&cfg),
        crate::gpu::export::Format::decl(&cfg),
        crate::error_kind::ErrorKind::decl(&cfg),
        crate::sessions::SessionRequest::decl(&cfg),
        crate::sessions::SessionView::decl(&cfg),
        crate::sessions::SessionPlan::decl(&cfg),
        crate::sessions::Stopped::decl(&cfg),
        crate::sessions::queue_place::QueuePlace::decl(&cfg),
        crate::sessions::kinds::SessionKind::decl(&cfg),
        crate::sessions::kinds::Asks::decl(&cfg),
        crate::forward::ForwardView::decl(&cfg),
        crate::forward::Route::decl(&cfg),
        crate::app_events::AppEvent::decl(&cfg),
        crate::app_events::ClusterState::decl(&cfg),
        crate::app_events::Progressed::decl(&cfg),
        crate::app_events::Ended::decl(&cfg),
        crate::app_events::JobRef::decl(&cfg),
        crate::app_events::IdleJob::decl(&cfg),
        crate::app_events::AvailableUpdate::decl(&cfg),
        transfer::FileProblem::decl(&cfg),
        ssh::QuestionKind::decl(&cfg),
        ssh::Prompt::decl(&cfg),
        ssh::certificate::CertificateStatus::decl(&cfg),
        crate::browser_login::CertificateAuthority::decl(&cfg),
        crate::browser_login::WalletEvent::decl(&cfg),
        ssh::keygen::GeneratedKey::decl(&cfg),
        ssh::certificate::CertificateState::decl(&cfg),
        ssh::ConnectionState::decl(&cfg),
        ssh::OfflineWhy::decl(&cfg),
        cluster_files::ClusterPlace::decl(&cfg),
        cluster_files::Entry::decl(&cfg),
        cluster_files::EntryKind::decl(&cfg),
        cluster_files::View::decl(&cfg),
        cluster_files::SortBy::decl(&cfg),
        cluster_files::Page::decl(&cfg),
        cluster_files::listing::Crumb::decl(&cfg),
        cluster_files::Size::decl(&cfg),
        cluster_files::IfTaken::decl(&cfg),
        cluster_files::Moved::decl(&cfg),
        cluster_files::Deleted::decl(&cfg),
        cluster_files::Preview::decl(&cfg),
        cluster_files::Tail::decl(&cfg),
        crate::app_events::Dropped::decl(&cfg),
        crate::local_pick::PickKind::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types in crates/usine-core by `ipc_types::typescript_module`.\n\
         // Do not edit: run `UPDATE_BINDINGS=1 cargo test -p usine-core ipc_types` instead.\n",
    );
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out.push_str(&format!(
        "\n/** The target that runs jobs on this computer. */\nexport const THIS_COMPUTER = {:?};\n",
        target::THIS_COMPUTER_ID
    ));
    out
}

/// Keeps a generated file that is checked in up to date: with `UPDATE_BINDINGS` set it is
/// rewritten, otherwise a stale one is an error that says to run `refresh`.
pub fn keep_generated(path: &std::path::Path, fresh: &str, refresh: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(path, fresh).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    match std::fs::read_to_string(path).unwrap_or_default() == fresh {
        true => Ok(()),
        false => Err(format!(
            "{} is stale: run `UPDATE_BINDINGS=1 {refresh}`",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn checked_in_bindings_match_the_rust_types() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings.ts");
        let refresh = "cargo test -p usine-core ipc_types";
        super::keep_generated(&path, &super::typescript_module(), refresh).unwrap();
    }
}
