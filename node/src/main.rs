//! `tally`: parse the command line, run the command, map errors to exit codes.

use clap::Parser;
use std::process::ExitCode;
use tally_node::cli::{Cli, Command, InitArgs, KeysCommand, RoleArg, TokenCommand, TrustCommand};
use tally_node::{admin, client, demo, integrity};

/// mimalloc rather than the system allocator: a verify request allocates
/// and frees a few hundred small objects (the license, its view, the JSON),
/// and with mimalloc the node spent 43-47 µs of CPU per request instead of
/// 54-55 µs (`tally-bench --only api`, two runs each, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tally_node::init_tracing(cli.log_format);
    match run(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tally: {e:#}");
            if tally_node::signing::is_pin_refused(&e) {
                return ExitCode::from(tally_node::signing::PIN_REFUSED_EXIT);
            }
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init(args) => init(&args)?,
        Command::Trust { command } => trust(command)?,
        Command::Token { command } => token(command)?,
        Command::Keys {
            command:
                KeysCommand::DropRetired {
                    dir,
                    retired_before,
                    yes,
                },
        } => {
            let before: tally_model::Date = retired_before.parse()?;
            let done = tally_node::archive::drop_retired(&dir, before, yes)?;
            println!("{}", done.text());
        }
        Command::Keys {
            command: KeysCommand::Migrate { dir, pkcs11 },
        } => {
            let done = tally_node::migrate::migrate(&dir, pkcs11.signing()).await?;
            println!("{}", done.text());
        }
        Command::Run { dir, new_log } => {
            tally_node::raise_open_file_limit();
            let settings = tally_node::config::Settings {
                new_log,
                ..tally_node::config::Settings::load(&dir)?
            };
            let node = tally_node::Node::spawn(settings).await?;
            node.run_until(tally_node::shutdown_signal()).await?;
        }
        Command::Reindex { dir } => println!("{}", admin::reindex(&dir)?),
        Command::VerifyStore { dir } => {
            let check = integrity::verify_store(&dir)?;
            println!("{}", check.text);
            if !check.sound {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Demo {
            dir,
            base_port,
            pkcs11,
        } => {
            tally_node::raise_open_file_limit();
            demo::run(dir, base_port, &pkcs11).await?
        }
        Command::Status { api, token, json } => client::status(&api, &token, json).await?,
        Command::Trace {
            api,
            token,
            make,
            serial,
            json,
        } => client::trace(&api, &token, &make, &serial, json).await?,
        Command::Check { api, token, file } => return client::check(&api, &token, &file).await,
        Command::Report { what } => tally_node::report::run(what).await?,
        Command::Paper { what } => return tally_node::paper_cli::run(what).await,
        Command::Export {
            api,
            token,
            what,
            from,
            to,
            since,
            format,
            out,
        } => {
            let ask = client::ExportAsk {
                what: &what,
                from: from.as_deref(),
                to: to.as_deref(),
                since: since.as_deref(),
                format: format.as_deref(),
            };
            client::export_command(&api, &token, &ask, out.as_deref()).await?
        }
        Command::Import {
            api,
            token,
            file,
            dry_run,
            json,
            format,
        } => {
            let done =
                tally_node::import::import(&api, &token, &file, format.as_deref(), dry_run).await?;
            if json {
                println!("{}", serde_json::to_string(&done)?);
            } else {
                println!("{}", done.text(dry_run));
            }
            return Ok(done.exit_code());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tally init`: the new node's identity, card and first admin token.
fn init(args: &InitArgs) -> anyhow::Result<()> {
    let done = admin::init_with(
        &args.dir,
        &args.authority,
        &args.name,
        &args.p2p_listen,
        &args.api_listen,
        args.engine.as_deref(),
        args.pkcs11.signing(),
    )?;
    if args.json {
        println!("{}", done.to_json());
        return Ok(());
    }
    println!(
        "initialised {} for {} (peer id {})",
        args.dir.display(),
        done.authority,
        done.peer_id
    );
    println!(
        "card: {} (give it to the nodes that will trust you)",
        done.card.display()
    );
    println!(
        "fingerprint: {} (read it to the administrators who add your card)",
        done.fingerprint
    );
    println!("api:  {}", done.api);
    println!("admin token (shown once): {}", done.admin_token);
    Ok(())
}

/// `tally trust add|remove|revoke-key|list`.
fn trust(command: TrustCommand) -> anyhow::Result<()> {
    match command {
        TrustCommand::Add {
            dir,
            card,
            expect_fingerprint,
        } => {
            let c = admin::trust_add_checked(&dir, &card, expect_fingerprint.as_deref())?;
            println!(
                "{}",
                admin::trust_added_text(&c, expect_fingerprint.is_some())
            );
        }
        TrustCommand::Remove { dir, id } => {
            admin::trust_remove(&dir, &id)?;
            println!("removed {id}");
        }
        TrustCommand::RevokeKey {
            dir,
            authority,
            key_id,
            after_seq,
        } => {
            let in_force = admin::trust_revoke_key(&dir, &authority, &key_id, after_seq)?;
            println!("{}", revoked_text(&authority, &key_id, after_seq, in_force));
        }
        TrustCommand::List { dir, json } => {
            let list = admin::trust_list(&dir)?;
            let text = if json {
                admin::trust_list_json_text(&list)?
            } else {
                admin::trust_list_text(&list)
            };
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }
    Ok(())
}

/// What `tally trust revoke-key` says: the declaration made, or the
/// narrower one already in force.
fn revoked_text(authority: &str, key_id: &str, after_seq: u64, in_force: u64) -> String {
    if in_force < after_seq {
        format!(
            "key {key_id} of {authority} was already declared compromised after seq \
             {in_force}; declarations only narrow, so that one stays in force"
        )
    } else {
        format!(
            "declared key {key_id} of {authority} compromised after seq {after_seq}; \
             a running node applies it within 5 s"
        )
    }
}

/// `tally token create`: prints the new token once.
fn token(command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Create {
        dir,
        role,
        label,
        name,
        title,
        json,
    } = command;
    let role = match role {
        RoleArg::Officer => tally_api::tokens::Role::Officer,
        RoleArg::Issuer => tally_api::tokens::Role::Issuer,
        RoleArg::Admin => tally_api::tokens::Role::Admin,
    };
    let person = name.map(|name| tally_model::Person { name, title });
    let token = admin::token_create_for(&dir, role, &label, person.as_ref())?;
    if json {
        println!("{}", serde_json::json!({ "token": token }));
    } else {
        println!("{token}");
    }
    Ok(())
}
