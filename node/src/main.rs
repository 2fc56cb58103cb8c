//! `tally`: parse the command line, run the command, map errors to exit codes.

use clap::Parser;
use std::process::ExitCode;
use tally_node::cli::{Cli, Command, KeysCommand, RoleArg, TokenCommand, TrustCommand};
use tally_node::{admin, client, demo};

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
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init {
            dir,
            authority,
            name,
            p2p_listen,
            api_listen,
            engine,
            json,
        } => {
            let done = admin::init(
                &dir,
                &authority,
                &name,
                &p2p_listen,
                &api_listen,
                engine.as_deref(),
            )?;
            if json {
                println!("{}", done.to_json());
            } else {
                println!(
                    "initialised {} for {} (peer id {})",
                    dir.display(),
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
            }
        }
        Command::Trust { command } => match command {
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
                if in_force < after_seq {
                    println!(
                        "key {key_id} of {authority} was already declared compromised after seq \
                         {in_force}; declarations only narrow, so that one stays in force"
                    );
                } else {
                    println!(
                        "declared key {key_id} of {authority} compromised after seq {after_seq}; \
                         a running node applies it within 5 s"
                    );
                }
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
        },
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
        Command::Token {
            command:
                TokenCommand::Create {
                    dir,
                    role,
                    label,
                    json,
                },
        } => {
            let role = match role {
                RoleArg::Officer => tally_api::tokens::Role::Officer,
                RoleArg::Issuer => tally_api::tokens::Role::Issuer,
                RoleArg::Admin => tally_api::tokens::Role::Admin,
            };
            let token = admin::token_create(&dir, role, &label)?;
            if json {
                println!("{}", serde_json::json!({ "token": token }));
            } else {
                println!("{token}");
            }
        }
        Command::Run { dir, new_log } => {
            tally_node::raise_open_file_limit();
            let node = tally_node::Node::start_opts(&dir, new_log).await?;
            node.run_until(tally_node::shutdown_signal()).await?;
        }
        Command::Reindex { dir } => println!("{}", admin::reindex(&dir)?),
        Command::VerifyStore { dir } => {
            let check = admin::verify_store(&dir)?;
            println!("{}", check.text);
            if !check.sound {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Demo { dir, base_port } => {
            tally_node::raise_open_file_limit();
            demo::run(dir, base_port).await?
        }
        Command::Status { api, token, json } => client::status(&api, &token, json).await?,
        Command::Check { api, token, file } => return client::check(&api, &token, &file).await,
    }
    Ok(ExitCode::SUCCESS)
}
