//! Identity provider items and transactions.
//!
//! - the identity provider: `IDP#<idp>` / `IDP`, listed per tenant (GSI1 `TENANT#<tnt>#IDPS`)
//!   and platform-wide (GSI2 `IDPS`), live only; an OIDC client secret only sealed
//!   (`client_secret_sealed`: envelope-encrypted under the key-encryption key, purpose
//!   [`SECRET_PURPOSE`], bound to the provider's id);
//! - one domain claim per routed email domain, `UNIQUE#IDP_DOMAIN#<tnt>#<domain>` (one
//!   provider per domain in a tenant), claimed and released in the write's own transaction;
//! - counters of live providers per tenant (`COUNTER#IDPS#<tnt>`) and (8 shards) platform-wide.
//!
//! As with groups, no index names the provider's partner: a partner's providers are its
//! tenants' as they are now. The provider's `partner_id` is a hint every write checks against
//! the tenant (`tenant_still_with`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::audit::AuditEvent;
use shared::ids::{IdentityProviderId, PartnerId, TenantId};
use shared::store::write::{claim, lifecycle_item};
use shared::store::{Entity, Expr, Guard, Item, Key, Store, StoreError, Tx, keys, n, s};
use shared::time::Timestamp;
use shared::values::Status;

/// The guard of the domain claims.
pub const DOMAIN: Guard = Guard::Unique("domain");
/// The tenant a provider is created in: it must exist, not be deleted, and be the partner's.
pub const TENANT: Guard = Guard::Parent("tenant");

/// The KMS encryption-context `purpose` (and AES-GCM associated data) of sealed client secrets:
/// IAM allows this function `kms:GenerateDataKey` with it only.
pub const SECRET_PURPOSE: &str = "scaikey-idp-secret";

/// At most this many actions in one TransactWriteItems (DynamoDB's limit).
pub const MAX_ACTIONS: usize = 100;
/// The actions of an update besides its domain claims: the item, the tenant check, the event.
pub const UPDATE_FIXED_ACTIONS: usize = 3;

const SHARDS: u64 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ProviderType {
    #[serde(rename = "OIDC")]
    Oidc,
    #[serde(rename = "SAML")]
    Saml,
}

impl ProviderType {
    pub const ALL: [(&'static str, ProviderType); 2] =
        [("OIDC", ProviderType::Oidc), ("SAML", ProviderType::Saml)];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Oidc => "OIDC",
            Self::Saml => "SAML",
        }
    }
}

/// An OpenID Connect provider's settings (its client secret is kept apart, sealed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub claim_mappings: BTreeMap<String, String>,
}

/// A SAML 2.0 provider's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamlConfig {
    pub entity_id: String,
    pub sso_url: String,
    /// The provider's signing certificate, PEM, as given (trimmed).
    pub x509_certificate: String,
    pub name_id_format: String,
    #[serde(default)]
    pub attribute_mappings: BTreeMap<String, String>,
}

/// The settings of a provider, of its type (each has required fields the other lacks, so the
/// stored map reads back as the right one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProviderConfig {
    Oidc(OidcConfig),
    Saml(SamlConfig),
}

impl ProviderConfig {
    pub fn provider_type(&self) -> ProviderType {
        match self {
            Self::Oidc(_) => ProviderType::Oidc,
            Self::Saml(_) => ProviderType::Saml,
        }
    }
}

/// A client secret sealed under the key-encryption key (`shared::sealing`, purpose
/// [`SECRET_PURPOSE`], bound to the provider's id). Binary fields are base64.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// `kms:<key ARN>` or `local:<fingerprint>`.
    pub kek: String,
    pub wrapped_key: String,
    pub ciphertext: String,
}

impl SealedSecret {
    pub fn of(sealed: shared::sealing::Sealed) -> Self {
        use data_encoding::BASE64;
        Self {
            kek: sealed.kek,
            wrapped_key: BASE64.encode(&sealed.wrapped_key),
            ciphertext: BASE64.encode(&sealed.ciphertext),
        }
    }
}

/// An identity provider as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityProvider {
    pub id: IdentityProviderId,
    pub tenant_id: TenantId,
    /// A hint: the partner of the tenant at the provider's last write. A write assumes it and
    /// its transaction checks the tenant still belongs to it; reads and lists never rely on it.
    pub partner_id: PartnerId,
    pub name: String,
    pub provider_type: ProviderType,
    pub status: Status,
    /// Lower-cased email domains routed to this provider; each claimed in the tenant.
    pub domains: Vec<String>,
    pub jit_provisioning: bool,
    pub config: ProviderConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_sealed: Option<SealedSecret>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl IdentityProvider {
    /// The lower-cased text `search` matches.
    pub fn search_text(&self) -> String {
        self.name.to_lowercase()
    }

    pub fn client_secret_set(&self) -> bool {
        self.client_secret_sealed.is_some()
    }
}

impl Entity for IdentityProvider {
    const NAME: &'static str = "IDENTITY_PROVIDER";

    fn key(&self) -> Key {
        keys::identity_provider(&self.id)
    }
}

shared::lifecycle_fields!(IdentityProvider);

/// The stored provider; a deleted one (`purge_at`) leaves both list indexes.
pub fn idp_item(idp: &IdentityProvider, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = lifecycle_item(
        idp,
        purge_at,
        &[
            (keys::GSI1PK, keys::idps_of_tenant(&idp.tenant_id)),
            (keys::GSI1SK, idp.id.to_string()),
            (keys::GSI2PK, keys::ALL_IDPS.to_owned()),
            (keys::GSI2SK, idp.id.to_string()),
        ],
    )?;
    item.insert("search_text".into(), s(idp.search_text()));
    Ok(item)
}

fn domain_key(idp: &IdentityProvider, domain: &str) -> Key {
    keys::idp_domain(&idp.tenant_id, domain)
}

/// Live-provider counters of the tenant and the platform.
fn count_idps(tx: &mut Tx, idp: &IdentityProvider, delta: i64) -> Result<(), StoreError> {
    let shard = shared::secrets::random_below(SHARDS);
    for key in [
        keys::idp_count_of_tenant(&idp.tenant_id),
        keys::idp_count_shard(shard),
    ] {
        tx.update(
            &key,
            "ADD #count :delta",
            Expr::default()
                .name("#count", "count")
                .value(":delta", n(delta)),
        )?;
    }
    Ok(())
}

/// The keys holding the platform-wide total.
pub fn platform_count_keys() -> Vec<Key> {
    (0..SHARDS).map(keys::idp_count_shard).collect()
}

/// Provider (new), a claim per domain, tenant (exists, not deleted, the partner's), counters,
/// audit: at most 1 + 50 + 1 + 2 + 1 actions.
pub async fn create(
    store: &Store,
    idp: &IdentityProvider,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(idp_item(idp, None)?, Guard::Item)?;
    for domain in &idp.domains {
        claim(&mut tx, &domain_key(idp, domain), idp.id.as_str(), "domain")?;
    }
    tx.check(
        &keys::tenant(&idp.tenant_id),
        TENANT,
        "attribute_exists(PK) AND #status <> :deleted AND partner_id = :partner",
        Expr::default()
            .name("#status", "status")
            .value(":deleted", s("DELETED"))
            .value(":partner", s(idp.partner_id.to_string())),
    )?;
    count_idps(&mut tx, idp, 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// The domains `after` routes that `before` did not, and those it no longer routes.
pub fn domain_moves<'a>(
    before: &'a IdentityProvider,
    after: &'a IdentityProvider,
) -> (Vec<&'a str>, Vec<&'a str>) {
    let added = after
        .domains
        .iter()
        .filter(|d| !before.domains.contains(d))
        .map(String::as_str)
        .collect();
    let removed = before
        .domains
        .iter()
        .filter(|d| !after.domains.contains(d))
        .map(String::as_str)
        .collect();
    (added, removed)
}

/// Provider (versioned), tenant still with the assumed partner, the removed domains released
/// and the new ones claimed, audit.
pub async fn update(
    store: &Store,
    before: &IdentityProvider,
    after: &IdentityProvider,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(idp_item(after, None)?, before.version)?;
    tenant_still_with(&mut tx, &after.tenant_id, &after.partner_id)?;
    let (added, removed) = domain_moves(before, after);
    for domain in removed {
        tx.delete(&domain_key(before, domain))?;
    }
    for domain in added {
        claim(
            &mut tx,
            &domain_key(after, domain),
            after.id.as_str(),
            "domain",
        )?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Provider (versioned) out of the lists with its purge time, its domains released (providers
/// have no restore), counters, audit.
pub async fn delete(
    store: &Store,
    before: &IdentityProvider,
    after: &IdentityProvider,
    purge_at: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(idp_item(after, Some(purge_at))?, before.version)?;
    tenant_still_with(&mut tx, &after.tenant_id, &after.partner_id)?;
    for domain in &before.domains {
        tx.delete(&domain_key(before, domain))?;
    }
    count_idps(&mut tx, before, -1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// The provider's tenant still belongs to `partner` — the partner the write assumed and files
/// its event under. A transfer since then refuses the write (`Guard::Item`: re-read, re-decided).
fn tenant_still_with(
    tx: &mut Tx,
    tenant: &TenantId,
    partner: &PartnerId,
) -> Result<(), StoreError> {
    tx.check(
        &keys::tenant(tenant),
        Guard::Item,
        "partner_id = :partner",
        Expr::default().value(":partner", s(partner.to_string())),
    )?;
    Ok(())
}

impl shared::lists::Merged for IdentityProvider {
    fn merge_id(&self) -> &str {
        self.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        IdentityProviderId::parse(id)
            .ok()
            .map(|id| keys::identity_provider(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::store::describe;

    fn at() -> Timestamp {
        Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap()
    }

    fn oidc() -> IdentityProvider {
        IdentityProvider {
            id: IdentityProviderId::parse("idp_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            tenant_id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            partner_id: PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            name: "Corporate Okta".into(),
            provider_type: ProviderType::Oidc,
            status: Status::Active,
            domains: vec!["acme.example".into(), "eu.acme.example".into()],
            jit_provisioning: true,
            config: ProviderConfig::Oidc(OidcConfig {
                issuer: "https://acme.okta.example".into(),
                client_id: "0oa1b2c3".into(),
                scopes: vec!["openid".into(), "email".into()],
                claim_mappings: BTreeMap::from([("email".into(), "mail".into())]),
            }),
            client_secret_sealed: Some(SealedSecret {
                kek: "local:0011223344556677".into(),
                wrapped_key: "d3JhcHBlZA==".into(),
                ciphertext: "c2VhbGVk".into(),
            }),
            created_at: at(),
            updated_at: at(),
            deleted_at: None,
            version: 2,
        }
    }

    fn saml() -> IdentityProvider {
        IdentityProvider {
            name: "ADFS".into(),
            provider_type: ProviderType::Saml,
            domains: vec![],
            jit_provisioning: false,
            config: ProviderConfig::Saml(SamlConfig {
                entity_id: "urn:acme:adfs".into(),
                sso_url: "https://adfs.acme.example/sso".into(),
                x509_certificate: "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----"
                    .into(),
                name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
                attribute_mappings: BTreeMap::new(),
            }),
            client_secret_sealed: None,
            ..oidc()
        }
    }

    fn pinned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The stored form is a contract with data already in tables; the client secret is stored
    /// only sealed.
    #[test]
    fn a_live_oidc_provider_item_is_pinned() {
        let item = describe(&idp_item(&oidc(), None).unwrap());
        assert_eq!(
            item,
            pinned(&[
                ("GSI1PK", "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w0g#IDPS"),
                ("GSI1SK", "S:idp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("GSI2PK", "S:IDPS"),
                ("GSI2SK", "S:idp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("PK", "S:IDP#idp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("SK", "S:IDP"),
                (
                    "client_secret_sealed",
                    "M:{ciphertext=S:c2VhbGVk, kek=S:local:0011223344556677, wrapped_key=S:d3JhcHBlZA==}"
                ),
                (
                    "config",
                    "M:{claim_mappings=M:{email=S:mail}, client_id=S:0oa1b2c3, issuer=S:https://acme.okta.example, scopes=L:[S:openid, S:email]}"
                ),
                ("created_at", "S:2026-01-02T03:04:05.000006Z"),
                ("domains", "L:[S:acme.example, S:eu.acme.example]"),
                ("entity", "S:IDENTITY_PROVIDER"),
                ("id", "S:idp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("jit_provisioning", "BOOL:true"),
                ("name", "S:Corporate Okta"),
                ("partner_id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w1g"),
                ("provider_type", "S:OIDC"),
                ("search_text", "S:corporate okta"),
                ("status", "S:ACTIVE"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("updated_at", "S:2026-01-02T03:04:05.000006Z"),
                ("version", "N:2"),
            ])
        );
        let back: IdentityProvider =
            shared::store::decode(idp_item(&oidc(), None).unwrap()).unwrap();
        assert_eq!(back, oidc());
    }

    #[test]
    fn a_live_saml_provider_item_is_pinned() {
        let item = describe(&idp_item(&saml(), None).unwrap());
        assert_eq!(
            item.get("config").map(String::as_str),
            Some(
                "M:{attribute_mappings=M:{}, entity_id=S:urn:acme:adfs, name_id_format=S:urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress, sso_url=S:https://adfs.acme.example/sso, x509_certificate=S:-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----}"
            )
        );
        assert_eq!(
            item.get("provider_type").map(String::as_str),
            Some("S:SAML")
        );
        assert_eq!(item.get("domains").map(String::as_str), Some("L:[]"));
        assert!(!item.contains_key("client_secret_sealed"));
        let back: IdentityProvider =
            shared::store::decode(idp_item(&saml(), None).unwrap()).unwrap();
        assert_eq!(back, saml());
    }

    #[test]
    fn a_deleted_provider_item_leaves_both_lists_and_expires() {
        let purge = Timestamp::from_unix(1_800_000_000).unwrap();
        let item = describe(&idp_item(&oidc(), Some(purge)).unwrap());
        assert_eq!(item.get("ttl").map(String::as_str), Some("N:1800000000"));
        for index_key in ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"] {
            assert!(!item.contains_key(index_key), "{index_key}");
        }
    }

    #[test]
    fn domain_moves_name_what_to_claim_and_release() {
        let before = oidc();
        let after = IdentityProvider {
            domains: vec!["eu.acme.example".into(), "us.acme.example".into()],
            ..oidc()
        };
        assert_eq!(
            domain_moves(&before, &after),
            (vec!["us.acme.example"], vec!["acme.example"])
        );
    }
}
