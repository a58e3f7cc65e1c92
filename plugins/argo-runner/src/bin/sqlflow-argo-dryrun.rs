//! `sqlflow-argo-dryrun`: prints the Secret and the Workflow a program compiles to,
//! exactly as the argo runner would submit them, without talking to a cluster. For
//! review, or for `kubectl apply -f` by hand.

use std::{
    io::{self, Read},
    path::PathBuf,
    process::ExitCode,
};

use argo_runner::{
    Config,
    codegen::{self, JobInput},
};
use clap::{ArgGroup, Parser};
use sqlflow_plugin_api::sdk::parse_config;

/// Prints the job's Secret and Workflow (YAML, or a JSON List with --json) as the argo
/// runner would create them from [runners.argo] in the config file.
///
/// The datasource comes from --datasource, $SQLFLOW_DATASOURCE, or the config's
/// `datasource`. The Secret holds the program and the datasource (with its password):
/// keep the output private.
#[derive(Parser)]
#[command(name = "sqlflow-argo-dryrun", version)]
#[command(group = ArgGroup::new("program").required(true))]
struct Args {
    /// The server's config file.
    #[arg(long, value_name = "FILE", default_value = "sqlflow.toml")]
    config: PathBuf,
    /// The datasource: mysql://user:pass@host:port/db, postgres://...
    #[arg(
        long,
        value_name = "DS",
        env = "SQLFLOW_DATASOURCE",
        hide_env_values = true
    )]
    datasource: Option<String>,
    /// The namespace (default: the config's, else `default`).
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// The user the job's labels and annotations name.
    #[arg(long, default_value = "", hide_default_value = true)]
    user: String,
    /// The Workflow's name: sqlflow- and 32 hex digits (default: a random one).
    #[arg(long, value_parser = job_name)]
    name: Option<String>,
    /// Print a JSON List instead of YAML.
    #[arg(long)]
    json: bool,
    /// The SQL program.
    #[arg(
        short = 'e',
        value_name = "SQL",
        group = "program",
        allow_hyphen_values = true
    )]
    execute: Option<String>,
    /// A file holding the program ('-' for stdin).
    #[arg(value_name = "FILE", group = "program")]
    file: Option<PathBuf>,
}

fn job_name(name: &str) -> Result<String, String> {
    if codegen::valid_job_name(name) {
        Ok(name.to_string())
    } else {
        Err("job names are sqlflow- and 32 hex digits".into())
    }
}

/// The program from `-e`, a file, or stdin (`-`).
fn read_program(args: &Args) -> Result<String, String> {
    match (&args.execute, &args.file) {
        (Some(sql), _) => Ok(sql.clone()),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read the program from stdin: {e}"))?;
            Ok(s)
        }
        (None, Some(f)) => {
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))
        }
        // clap requires one of them.
        (None, None) => Err("no program: pass -e SQL, a file, or - for stdin".into()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let program = match read_program(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sqlflow-argo-dryrun: {e}");
            return ExitCode::from(2);
        }
    };
    match render(&args, program) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sqlflow-argo-dryrun: {e}");
            ExitCode::FAILURE
        }
    }
}

fn render(args: &Args, program: String) -> Result<String, String> {
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("cannot read {}: {e}", args.config.display()))?;
    let file: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", args.config.display()))?;
    let table = file
        .get("runners")
        .and_then(|r| r.get("argo"))
        .cloned()
        .unwrap_or(toml::Value::Table(Default::default()));
    let json = serde_json::to_string(&table).map_err(|e| e.to_string())?;
    let cfg: Config = parse_config(&json).map_err(|e| config_error(&e))?;
    cfg.validate().map_err(|e| config_error(&e))?;
    let datasource = args
        .datasource
        .clone()
        .or_else(|| {
            file.get("datasource")
                .and_then(|d| d.as_str())
                .map(str::to_string)
        })
        .ok_or("no datasource: pass --datasource or set SQLFLOW_DATASOURCE")?;
    let statements =
        codegen::split_program(&program, &datasource, &cfg).map_err(|e| e.message.to_string())?;
    let name = args.name.clone().unwrap_or_else(codegen::random_name);
    let input = JobInput {
        name,
        namespace: args
            .namespace
            .clone()
            .or_else(|| cfg.namespace.clone())
            .unwrap_or_else(|| "default".into()),
        user: args.user.clone(),
        request_id: String::new(),
        program,
        datasource,
        timeout_seconds: 0,
        exit_on_submit: true,
        now_ms: argo_runner::lease::now_ms(),
    };
    let compiled = codegen::compile(&cfg, &input, statements);
    if args.json {
        let list = serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": [compiled.secret, compiled.workflow],
        });
        return Ok(serde_json::to_string_pretty(&list).map_err(|e| e.to_string())? + "\n");
    }
    let mut out = String::new();
    out.push_str("# Generated by sqlflow-argo-dryrun. The steps run these statements:\n");
    for (i, s) in compiled.statements.iter().enumerate() {
        out.push_str(&format!("#\n# step-{}:\n", i + 1));
        for line in s.lines() {
            out.push_str(&format!("#   {line}\n"));
        }
    }
    out.push_str(
        "#\n# The Secret has no owner yet: a running sqlflow server adopts it once the\n\
         # Workflow exists (so both go together), or delete both by hand.\n",
    );
    for obj in [&compiled.secret, &compiled.workflow] {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(obj).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn config_error(e: &sqlflow_plugin_api::RunnerError) -> String {
    match e.config_path.clone().into_option() {
        Some(p) => format!("[runners.argo] {p}: {}", e.message),
        None => format!("[runners.argo]: {}", e.message),
    }
}
