//! `scaikey`: table, bootstrap, admins, key rotation, and the local server.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use scaikey_cli::ops::{self, NewAdmin};
use shared::access::AdminRole;
use shared::ids::{PartnerId, TenantId};

#[derive(Parser)]
#[command(
    name = "scaikey",
    about = "ScaiKey admin API: operations and local server",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The DynamoDB table.
    Table {
        #[command(subcommand)]
        action: TableAction,
    },
    /// Creates the platform partner and tenant, signing keys and the first super admin (idempotent).
    Bootstrap {
        #[arg(long, env = "SCAIKEY_BOOTSTRAP_EMAIL")]
        email: String,
        /// Generated and printed once if not given.
        #[arg(long, env = "SCAIKEY_BOOTSTRAP_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Admin users.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// After deploying an upgrade: seals the server secrets and moves stored data to this
    /// version's layout (idempotent; run it right after the deploy).
    Upgrade,
    /// Serves every endpoint group on one local server.
    Serve {
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
    },
    /// Prints the OpenAPI document.
    Openapi,
    /// Prints the audit catalogue: every action each group records.
    AuditActions,
}

#[derive(Subcommand)]
enum TableAction {
    /// Creates the table with its indexes and TTL (idempotent; for local use).
    Create,
}

#[derive(Subcommand)]
enum KeysAction {
    /// A new signing key, in SCAIKEY_SIGNING_ALGORITHM (RS256 or ES256; rotating is how a
    /// deployment switches), is published now and signs once every instance can have seen it
    /// (about 6 minutes); old ones sign until then and stay published until unused.
    Rotate,
    /// Revokes a signing key at once: tokens it signed are refused on their next request and
    /// it leaves the JWKS; if no other key signs, a new one signs at once.
    Revoke {
        /// The key id (`kid` in the JWKS and in token headers).
        kid: String,
    },
    /// Seals under the key-encryption key what earlier versions kept in plaintext: private
    /// signing keys, and the one server secret (it becomes the sealed credentials key and a
    /// cursor key; client secrets keep working, refresh tokens end). Idempotent; `bootstrap`
    /// does it too. Run it right after deploying an upgrade.
    Seal,
    /// Makes the credentials key (refresh tokens, sign-in codes and cookies) and the
    /// client-secret key anew under the current key-encryption key — only after switching to
    /// one that cannot open them: every refresh token ends, every client secret must be rotated.
    RemakeCredentials,
}

// The names are the CLI's values (`--role super_admin`), which all end in "admin".
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum RoleArg {
    SuperAdmin,
    PartnerAdmin,
    TenantAdmin,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Creates a user holding one admin role; prints its id.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, env = "SCAIKEY_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        partner_id: Option<String>,
        #[arg(long)]
        tenant_id: Option<String>,
    },
    /// Lifts the login throttling of an email (every address), e.g. after an attack.
    Unlock {
        #[arg(long)]
        email: String,
    },
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if let Command::Openapi = cli.command {
        print!("{}", scaikey_cli::openapi_json());
        return Ok(());
    }
    if let Command::AuditActions = cli.command {
        print!("{}", scaikey_cli::audit_actions_json());
        return Ok(());
    }
    // Only the server reads the keys at start (it signs and verifies tokens); the other
    // commands read or write them themselves, and `table create` runs before there is a table.
    let (config, dev_kek) = scaikey_cli::config_from_env()?;
    if let Some(file) = dev_kek {
        eprintln!(
            "using the local key-encryption key {} (next to a local DynamoDB, nothing else set)",
            file.display()
        );
    }
    let store = shared::store::connect(&config).await;
    let kek = shared::sealing::Kek::from_config(&config).await?;
    let state = shared::AppState::new(config, store, kek);
    if let Command::Serve { .. } = cli.command {
        state.warm_up().await;
    }
    match cli.command {
        Command::Table {
            action: TableAction::Create,
        } => {
            let created = state.store().create_table().await?;
            println!(
                "table {}: {}",
                state.store().table(),
                if created { "created" } else { "already exists" }
            );
        }
        Command::Bootstrap { email, password } => {
            let mut done = ops::ensure_keys(&state).await?;
            let (_, _, created) = ops::ensure_platform(&state).await?;
            done.extend(created);
            let generated = password.is_none();
            let password = password.unwrap_or_else(shared::secrets::generate_password);
            let admin = NewAdmin {
                email: email.clone(),
                password: password.clone(),
                role: AdminRole::SuperAdmin,
                partner_id: None,
                tenant_id: None,
            };
            let outcome = ops::create_admin(&state, admin).await;
            if generated && outcome.is_err() {
                // The user may have been created before the grant failed: a re-run with this
                // password finishes it (a new generated one would not match).
                eprintln!(
                    "the password generated for {email} in this run (re-run with --password to \
                     finish a half-created admin): {password}"
                );
            }
            match outcome? {
                Some(id) => {
                    done.push(format!("super admin {email} ({id})"));
                    if generated {
                        println!("generated password for {email} (shown once): {password}");
                    }
                }
                None => println!("{email} already holds an admin role; its password is unchanged"),
            }
            if done.is_empty() {
                println!("bootstrap: nothing to do, everything already exists");
            } else {
                println!("bootstrap: created {}", done.join(", "));
            }
        }
        Command::Admin {
            action:
                AdminAction::Create {
                    email,
                    password,
                    role,
                    partner_id,
                    tenant_id,
                },
        } => {
            let role = match role {
                RoleArg::SuperAdmin => AdminRole::SuperAdmin,
                RoleArg::PartnerAdmin => AdminRole::PartnerAdmin,
                RoleArg::TenantAdmin => AdminRole::TenantAdmin,
            };
            let partner_id = partner_id
                .map(|p| PartnerId::parse(&p))
                .transpose()
                .map_err(|e| format!("--partner-id: {e}"))?;
            let tenant_id = tenant_id
                .map(|t| TenantId::parse(&t))
                .transpose()
                .map_err(|e| format!("--tenant-id: {e}"))?;
            match ops::create_admin(
                &state,
                NewAdmin {
                    email: email.clone(),
                    password,
                    role,
                    partner_id,
                    tenant_id,
                },
            )
            .await?
            {
                Some(id) => println!("{id}"),
                None => return Err(format!("{email} already holds admin roles").into()),
            }
        }
        Command::Admin {
            action: AdminAction::Unlock { email },
        } => {
            let cleared = ops::unlock_login(&state, &email).await?;
            println!("{email}: {cleared} attempt counters cleared");
        }
        Command::Keys {
            action: KeysAction::Rotate,
        } => {
            let (kid, signs_from) = ops::rotate_keys(&state).await?;
            println!(
                "new {} signing key {kid}: published now, signs from {signs_from}",
                state.config().signing_algorithm
            );
        }
        Command::Keys {
            action: KeysAction::Revoke { kid },
        } => {
            for line in ops::revoke_key(&state, &kid).await? {
                println!("{line}");
            }
        }
        Command::Keys {
            action: KeysAction::Seal,
        } => {
            let sealed = ops::seal_plaintext_keys(&state).await?;
            println!("{} signing keys sealed", sealed.len());
            for kid in sealed {
                println!("  {kid}");
            }
            for made in ops::seal_credentials(&state).await? {
                println!("{made}");
            }
        }
        Command::Keys {
            action: KeysAction::RemakeCredentials,
        } => {
            for made in ops::remake_credentials(&state).await? {
                println!("{made}");
            }
        }
        Command::Upgrade => {
            for done in ops::upgrade(&state).await? {
                println!("{done}");
            }
        }
        Command::Serve { port } => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            println!("ScaiKey admin API on http://127.0.0.1:{port} (docs at /docs)");
            axum::serve(listener, scaikey_cli::app(state))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
        Command::Openapi | Command::AuditActions => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("scaikey: {err}");
            ExitCode::FAILURE
        }
    }
}
