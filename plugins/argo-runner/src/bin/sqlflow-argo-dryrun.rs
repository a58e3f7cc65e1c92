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
use sqlflow_plugin_api::sdk::parse_config;

const USAGE: &str = "\
usage: sqlflow-argo-dryrun [--config sqlflow.toml] [--datasource DS] [--namespace NS]
                           [--user USER] [--name NAME] [--json] (-e SQL | FILE | -)

Prints the job's Secret and Workflow (YAML, or a JSON List with --json) as the argo
runner would create them from [runners.argo] in the config file. The datasource comes
from --datasource, $SQLFLOW_DATASOURCE, or the config's `datasource`. The Secret holds
the program and the datasource (with its password): keep the output private.";

struct Args {
    config: PathBuf,
    datasource: Option<String>,
    namespace: Option<String>,
    user: String,
    name: Option<String>,
    json: bool,
    program: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        config: PathBuf::from("sqlflow.toml"),
        datasource: std::env::var("SQLFLOW_DATASOURCE").ok(),
        namespace: None,
        user: String::new(),
        name: None,
        json: false,
        program: String::new(),
    };
    let mut program = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().ok_or(format!("{flag} needs a value"));
        match a.as_str() {
            "--config" => args.config = PathBuf::from(value("--config")?),
            "--datasource" => args.datasource = Some(value("--datasource")?),
            "--namespace" => args.namespace = Some(value("--namespace")?),
            "--user" => args.user = value("--user")?,
            "--name" => args.name = Some(value("--name")?),
            "--json" => args.json = true,
            "-e" => program = Some(value("-e")?),
            "-h" | "--help" => return Err(String::new()),
            "-" => {
                let mut s = String::new();
                io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| format!("cannot read the program from stdin: {e}"))?;
                program = Some(s);
            }
            f if !f.starts_with('-') => {
                program =
                    Some(std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"))?)
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    args.program = program.ok_or("no program: pass -e SQL, a file, or - for stdin")?;
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sqlflow-argo-dryrun: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match render(&args) {
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

fn render(args: &Args) -> Result<String, String> {
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
    let statements = codegen::split_program(&args.program, &datasource, cfg.max_statements)
        .map_err(|e| e.message.to_string())?;
    let name = match &args.name {
        Some(n) if codegen::valid_job_name(n) => n.clone(),
        Some(n) => {
            return Err(format!(
                "--name {n}: job names are sqlflow- and 32 hex digits"
            ));
        }
        None => codegen::random_name(),
    };
    let input = JobInput {
        name,
        namespace: args
            .namespace
            .clone()
            .or_else(|| cfg.namespace.clone())
            .unwrap_or_else(|| "default".into()),
        user: args.user.clone(),
        request_id: String::new(),
        program: args.program.clone(),
        datasource,
        timeout_seconds: 0,
        exit_on_submit: true,
        now_ms: sqlflow_proto::jobdir::now_ms(),
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
