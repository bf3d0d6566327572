//! GPU use of lab jobs, through the stand-in `nvidia-smi` (the lab has no GPU): the recorder in
//! the job script, read over the shared connection into the store and onto a chart; a one-shot
//! sample inside a running job that leaves no step behind; an idle job seen as idle.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use usine_core::gpu::series::Device;
use usine_core::gpu::{chart, collect, series};
use usine_core::jobs::scheduler::Scheduler;
use usine_core::jobs::slurm::JobState;
use usine_core::jobs::slurm_ssh::SlurmOverSsh;
use usine_core::jobs::spec::{EnvVar, JobSpec};
use usine_core::jobs::{history, tracking};
use usine_core::ssh::Connection;
use usine_core::store::Store;
use usine_lab_tests::Lab;
use usine_lab_tests::ssh::{Answers, answering, scratch_file, spec};

async fn alice(lab: &Lab) -> Arc<Connection> {
    let (questions, _) = answering(Answers::default());
    Arc::new(
        Connection::open(&spec(lab.key_hop()), lab.host_keys(), questions)
            .await
            .unwrap(),
    )
}

fn gpu_job(lab: &Lab, name: &str, seconds: u32) -> JobSpec {
    JobSpec {
        name: name.into(),
        account: Some(lab.var("USINE_LAB_ACCOUNT").into()),
        partition: Some("gpu".into()),
        gpus_per_node: 2,
        // Any two: lab24 has two of each of its two types, and the tests run side by side.
        gpu_type: None,
        time_limit_minutes: 5,
        working_dir: format!("~/usine-it/{name}"),
        // The stand-in is off the default PATH on purpose; the recorder needs the cluster's
        // `srun`.
        environment: usine_core::jobs::spec::Environment {
            variables: vec![EnvVar {
                name: "PATH".into(),
                value: format!(
                    "/opt/usine-lab/bin:{}:/usr/local/bin:/usr/bin:/bin",
                    lab.var("USINE_LAB_SLURM_BIN")
                ),
            }],
            ..Default::default()
        },
        commands: format!("sleep {seconds}\n"),
        record_gpu_metrics: true,
        ..JobSpec::default()
    }
}

/// Submits and waits until Slurm runs it; returns (Usine's id, Slurm's id).
async fn running(store: &Mutex<Store>, slurm: &SlurmOverSsh, spec: &JobSpec) -> (String, String) {
    let entry = tracking::enqueue(store, "lab", spec).unwrap();
    let sent = tracking::send(store, slurm, &entry.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while history::get(&store.lock().unwrap(), &entry.id)
        .unwrap()
        .state
        != JobState::Running
    {
        assert!(Instant::now() < deadline, "the GPU job never started");
        tracking::refresh(store, "lab", slurm).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    (entry.id, sent.scheduler_id.unwrap())
}

/// A node without nvidia-smi, rocm-smi or amd-smi (here: the stand-in left off the PATH): the
/// recorder says so, and the job's summary tells it instead of "no samples yet" for ever.
async fn a_node_without_a_gpu_tool_is_said_once_the_recorder_starts(lab: Lab) {
    let conn = alice(&lab).await;
    let slurm = SlurmOverSsh::new(conn.clone());
    let store = Mutex::new(Store::open(&scratch_file("gpu-no-tool").join("db.sqlite3")).unwrap());
    let name = lab.unique("gpu-no-tool");
    let mut job = gpu_job(&lab, &name, 30);
    job.environment.variables.clear();
    let (id, slurm_id) = running(&store, &slurm, &job).await;
    let mut offsets = collect::offsets(&store.lock().unwrap(), &id).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = collect::read_recorder(&conn, &job, &slurm_id, &mut offsets)
            .await
            .unwrap();
        assert!(got.parsed.samples.is_empty(), "{:?}", got.parsed.samples);
        if got.parsed.no_tool {
            series::mark_no_gpu_tool(&store.lock().unwrap(), &id).unwrap();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the recorder never said it had no tool"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let summary = series::summary(&store.lock().unwrap(), &id, 10.0, 60_000).unwrap();
    assert!(summary.no_gpu_tool && summary.samples == 0, "{summary:?}");
    slurm.cancel(&slurm_id).await.unwrap();
}

async fn the_recorder_feeds_the_store_and_the_chart(lab: Lab) {
    let conn = alice(&lab).await;
    let slurm = SlurmOverSsh::new(conn.clone());
    let store = Mutex::new(Store::open(&scratch_file("gpu").join("db.sqlite3")).unwrap());
    let name = lab.unique("gpu");
    let job = gpu_job(&lab, &name, 30);
    let (id, slurm_id) = running(&store, &slurm, &job).await;

    // nvidia-smi -l 10: a first sample at once, the next 10 s later; read until both are in.
    let mut offsets = collect::offsets(&store.lock().unwrap(), &id).unwrap();
    let (mut bytes, mut reads) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let got = collect::read_recorder(&conn, &job, &slurm_id, &mut offsets)
            .await
            .unwrap();
        bytes += got.bytes;
        reads += 1;
        assert_eq!(got.parsed.skipped, 0);
        let enough = {
            let mut guard = store.lock().unwrap();
            series::save(&mut guard, &id, &got.parsed.samples).unwrap();
            collect::save_offsets(&guard, &id, &offsets).unwrap();
            series::summary(&guard, &id, 10.0, 60_000).unwrap().samples >= 4
        };
        if enough {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fewer than 2 samples per GPU after 40 s"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let (summary, curves) = {
        let guard = store.lock().unwrap();
        let summary = series::summary(&guard, &id, 10.0, 60_000).unwrap();
        (summary, series::load(&guard, &id, 600).unwrap())
    };
    assert_eq!(summary.gpus, 2, "{summary:?}");
    assert!(
        summary.mean_utilization.is_some_and(|u| u > 10.0),
        "the stand-in's GPUs work: {summary:?}"
    );
    let svg = chart::svg(&curves, &name, 800, 480).unwrap();
    let nodes: Vec<String> = curves
        .iter()
        .map(|c| match c.device {
            Device::Gpu(g) => format!("{} GPU {g}", c.node),
            Device::Processors => format!("{} CPUs", c.node),
        })
        .collect();
    // Nodes are named by their short host name, as Slurm's %N names the recorder's logs.
    let host = lab.ssh_alice_ok("h=$(hostname); echo ${h%%.*}");
    let host = host.trim();
    assert_eq!(nodes, [format!("{host} GPU 0"), format!("{host} GPU 1")]);
    assert!(svg.contains(&nodes[0]) && svg.contains(&nodes[1]), "{svg}");
    // Reading again from the saved offsets brings only what is new.
    let mut again = collect::offsets(&store.lock().unwrap(), &id).unwrap();
    let next = collect::read_recorder(&conn, &job, &slurm_id, &mut again)
        .await
        .unwrap();
    assert!(next.parsed.samples.len() <= 2, "{:?}", next.parsed.samples);
    println!(
        "recorder: {bytes} bytes in {reads} reads for {} samples",
        summary.samples
    );
    slurm.cancel(&slurm_id).await.unwrap();
}

async fn a_live_sample_leaves_no_step_running_and_an_idle_job_is_seen_as_idle(lab: Lab) {
    let conn = alice(&lab).await;
    let slurm = SlurmOverSsh::new(conn.clone());
    let store = Mutex::new(Store::open(&scratch_file("gpu").join("db.sqlite3")).unwrap());
    // The stand-in gives idle GPUs to jobs whose name says "idle".
    let name = lab.unique("idle");
    let job = gpu_job(&lab, &name, 120);
    let (id, slurm_id) = running(&store, &slurm, &job).await;
    let steps = || {
        let mut s: Vec<String> = lab
            .ssh_alice_ok(&format!("squeue -h -s -j {slurm_id} -o %i"))
            .lines()
            .map(|l| l.trim().to_owned())
            .collect();
        s.sort();
        s
    };
    // Wait for the recorder's step, then sample beside it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while steps().len() < 2 {
        assert!(Instant::now() < deadline, "no recorder step: {:?}", steps());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let before = steps();
    for _ in 0..3 {
        let got = collect::attach_sample(&conn, &slurm_id, 1, "/opt/usine-lab/bin/nvidia-smi")
            .await
            .unwrap();
        assert_eq!(got.parsed.samples.len(), 2, "{:?}", got.parsed);
        println!("live attach: {} bytes for 2 GPU samples", got.bytes);
        let host = lab.ssh_alice_ok("h=$(hostname); echo ${h%%.*}");
        assert!(got.parsed.samples.iter().all(|s| s.node == host.trim()));
    }
    assert_eq!(steps(), before, "a sampling step outlived its sample");
    // Neither lab Slurm accounts GPU use (no gpu/nvml; 24.11 lists gres/gpuutil among its TRES
    // but has nothing to put there): that source is simply empty.
    let accounted = collect::slurm_accounting_sample(&conn, &slurm_id, 0, 2)
        .await
        .unwrap();
    assert!(
        accounted.parsed.samples.is_empty(),
        "{:?}",
        accounted.parsed
    );

    let mut offsets = collect::offsets(&store.lock().unwrap(), &id).unwrap();
    let got = collect::read_recorder(&conn, &job, &slurm_id, &mut offsets)
        .await
        .unwrap();
    assert_eq!(got.parsed.samples.len(), 2, "{:?}", got.parsed);
    assert!(
        got.parsed
            .samples
            .iter()
            .all(|s| s.utilization.is_some_and(|u| u < 5.0)),
        "{:?}",
        got.parsed
    );
    series::save(&mut store.lock().unwrap(), &id, &got.parsed.samples).unwrap();
    // A second look 10 s later covers a window: idle all along.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let got = collect::read_recorder(&conn, &job, &slurm_id, &mut offsets)
        .await
        .unwrap();
    series::save(&mut store.lock().unwrap(), &id, &got.parsed.samples).unwrap();
    assert!(series::idle_for(&store.lock().unwrap(), &id, 10.0, 9_000).unwrap());
    slurm.cancel(&slurm_id).await.unwrap();
}

async fn every_task_of_a_gpu_array_is_recorded(lab: Lab) {
    let conn = alice(&lab).await;
    let slurm = SlurmOverSsh::new(conn.clone());
    let store = Mutex::new(Store::open(&scratch_file("gpu").join("db.sqlite3")).unwrap());
    let name = lab.unique("gpu-array");
    let mut job = gpu_job(&lab, &name, 30);
    job.gpus_per_node = 1;
    job.array = Some(usine_core::jobs::spec::JobArray {
        first: 0,
        last: 1,
        max_parallel: None,
    });
    let (_, slurm_id) = running(&store, &slurm, &job).await;
    let mut offsets = std::collections::BTreeMap::new();
    let mut nodes = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while nodes.len() < 2 {
        let got = collect::read_recorder(&conn, &job, &slurm_id, &mut offsets)
            .await
            .unwrap();
        nodes.extend(got.parsed.samples.iter().map(|s| s.node.clone()));
        assert!(Instant::now() < deadline, "only {nodes:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let tasks: Vec<String> = nodes
        .iter()
        .map(|n| n.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(tasks, ["0", "1"], "{nodes:?}");
    slurm.cancel(&slurm_id).await.unwrap();
}

usine_lab_tests::on_every_cluster!(
    a_node_without_a_gpu_tool_is_said_once_the_recorder_starts,
    the_recorder_feeds_the_store_and_the_chart,
    a_live_sample_leaves_no_step_running_and_an_idle_job_is_seen_as_idle,
    every_task_of_a_gpu_array_is_recorded,
);
