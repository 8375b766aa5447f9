//! Read-only verbs: `experiments list`, `runs list`, `runs get`. They read the store directly
//! (SQLite in WAL mode lets them run beside a live server) and print a table or JSON.

use anyhow::Context as _;
use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use judgeflow_domain::search::{self, parse_filter, parse_order_by};
use judgeflow_domain::{Run, ViewType};
use judgeflow_store::{ExperimentQuery, PageToken, RunQuery, TrackingStore};

use crate::env;

#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// The store to read: `sqlite:///<path>` or a file path.
    #[arg(long, env = env::BACKEND_STORE_URI, default_value = "sqlite:///judgeflow.db")]
    backend_store_uri: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExperimentsCommand {
    /// List experiments.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// `ACTIVE_ONLY`, `DELETED_ONLY` or ALL.
        #[arg(long, default_value = "ACTIVE_ONLY")]
        view: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RunsCommand {
    /// List runs of an experiment, newest first.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Experiment id(s) to search.
        #[arg(long = "experiment-id", default_value = "0")]
        experiment_ids: Vec<String>,
        /// An MLflow filter, e.g. "metrics.loss < 0.5 and params.lr = '0.1'".
        #[arg(long, default_value = "")]
        filter: String,
        /// Order-by clauses, e.g. "metrics.loss DESC".
        #[arg(long)]
        order_by: Vec<String>,
        #[arg(long, default_value_t = 100)]
        max_results: usize,
    },
    /// Show one run: info, params, latest metrics and tags.
    Get {
        #[command(flatten)]
        store: StoreArgs,
        run_id: String,
    },
}

fn view(value: &str) -> anyhow::Result<ViewType> {
    ViewType::parse(&value.to_ascii_uppercase())
        .with_context(|| format!("invalid --view '{value}': use ACTIVE_ONLY, DELETED_ONLY or ALL"))
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    table
}

pub(crate) async fn experiments(command: ExperimentsCommand) -> anyhow::Result<()> {
    let ExperimentsCommand::List {
        store: args,
        view: view_name,
    } = command;
    let store = crate::open_existing_store(&args.backend_store_uri).await?;
    let mut query = ExperimentQuery {
        filter: Vec::new(),
        order_by: Vec::new(),
        view: view(&view_name)?,
        max_results: 1000,
        page_token: PageToken::default(),
    };
    let mut experiments = Vec::new();
    loop {
        let page = store.search_experiments(&query).await?;
        experiments.extend(page.items);
        match page.next_page_token {
            Some(token) => query.page_token = PageToken::decode(Some(&token))?,
            None => break,
        }
    }
    if args.json {
        let value: Vec<_> = experiments
            .into_iter()
            .map(judgeflow_api::Experiment::from)
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut out = table(&["id", "name", "stage", "artifact location", "created"]);
    for e in experiments {
        out.add_row(vec![
            e.experiment_id,
            e.name,
            e.lifecycle_stage.as_str().to_owned(),
            e.artifact_location,
            format_time(Some(e.creation_time)),
        ]);
    }
    println!("{out}");
    Ok(())
}

pub(crate) async fn runs(command: RunsCommand) -> anyhow::Result<()> {
    match command {
        RunsCommand::List {
            store: args,
            experiment_ids,
            filter,
            order_by,
            max_results,
        } => {
            let store = crate::open_existing_store(&args.backend_store_uri).await?;
            let query = RunQuery {
                experiment_ids,
                filter: parse_filter(&filter, &search::RUNS).with_context(|| "invalid --filter")?,
                order_by: order_by
                    .iter()
                    .map(|o| parse_order_by(o, &search::RUNS))
                    .collect::<Result<_, _>>()
                    .with_context(|| "invalid --order-by")?,
                view: ViewType::ActiveOnly,
                max_results: max_results.clamp(1, 50_000),
                page_token: PageToken::default(),
            };
            let page = store.search_runs(&query).await?;
            if args.json {
                let value: Vec<_> = page
                    .items
                    .into_iter()
                    .map(judgeflow_api::Run::from)
                    .collect();
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            let mut out = table(&["run id", "name", "status", "started", "metrics"]);
            for run in &page.items {
                out.add_row(vec![
                    run.info.run_id.clone(),
                    run.info.run_name.clone(),
                    run.info.status.as_str().to_owned(),
                    format_time(run.info.start_time),
                    summarize_metrics(run),
                ]);
            }
            println!("{out}");
            if page.next_page_token.is_some() {
                eprintln!("(more runs exist: raise --max-results to see them)");
            }
            Ok(())
        }
        RunsCommand::Get {
            store: args,
            run_id,
        } => {
            let store = crate::open_existing_store(&args.backend_store_uri).await?;
            let run = store.get_run(&run_id).await?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&judgeflow_api::Run::from(run))?
                );
                return Ok(());
            }
            let mut info = table(&["field", "value"]);
            info.add_row(vec!["run id".to_owned(), run.info.run_id.clone()]);
            info.add_row(vec!["name".to_owned(), run.info.run_name.clone()]);
            info.add_row(vec![
                "experiment".to_owned(),
                run.info.experiment_id.clone(),
            ]);
            info.add_row(vec![
                "status".to_owned(),
                run.info.status.as_str().to_owned(),
            ]);
            info.add_row(vec!["started".to_owned(), format_time(run.info.start_time)]);
            info.add_row(vec!["ended".to_owned(), format_time(run.info.end_time)]);
            info.add_row(vec!["artifacts".to_owned(), run.info.artifact_uri.clone()]);
            println!("{info}");
            let mut entries = table(&["kind", "key", "value"]);
            for p in &run.data.params {
                entries.add_row(vec!["param".to_owned(), p.key.clone(), p.value.clone()]);
            }
            for m in &run.data.metrics {
                entries.add_row(vec![
                    "metric".to_owned(),
                    m.key.clone(),
                    format!("{} (step {})", m.value, m.step),
                ]);
            }
            for t in &run.data.tags {
                entries.add_row(vec!["tag".to_owned(), t.key.clone(), t.value.clone()]);
            }
            println!("{entries}");
            Ok(())
        }
    }
}

fn summarize_metrics(run: &Run) -> String {
    let mut parts: Vec<String> = run
        .data
        .metrics
        .iter()
        .take(4)
        .map(|m| format!("{}={:.4}", m.key, m.value))
        .collect();
    if run.data.metrics.len() > 4 {
        parts.push(format!("+{}", run.data.metrics.len() - 4));
    }
    parts.join(" ")
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC.
fn format_time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn formats_epoch_millis_as_utc() {
        assert_eq!(format_time(Some(0)), "1970-01-01 00:00:00");
        assert_eq!(format_time(Some(1_700_000_000_000)), "2023-11-14 22:13:20");
        assert_eq!(format_time(None), "");
    }
}
