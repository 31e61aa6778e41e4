//! Demo accounts, created only on request (`--demo`), never by default.

use kintara_api::{AccountState, ProviderType, Role};

use crate::auth::{password, users};
use crate::db::{is_unique_violation, Db};

pub const DEMO_PASSWORD: &str = "kintara-demo";

/// `(email, role, provider type, first name, last name)` of every demo account.
pub fn accounts() -> Vec<(String, Role, Option<ProviderType>, String, String)> {
    let mut v = vec![
        (
            "survivor@kintara.test".into(),
            Role::Survivor,
            None,
            "Amani".into(),
            "Wanjiru".into(),
        ),
        (
            "dispatcher@kintara.test".into(),
            Role::Dispatcher,
            None,
            "Dana".into(),
            "Otieno".into(),
        ),
        (
            "admin@kintara.test".into(),
            Role::Admin,
            None,
            "Imani".into(),
            "Kariuki".into(),
        ),
    ];
    for p in ProviderType::ALL {
        let (first, last) = match p {
            ProviderType::Healthcare => ("Grace", "Achieng"),
            ProviderType::Legal => ("Peter", "Mwangi"),
            ProviderType::Police => ("Joseph", "Kiprop"),
            ProviderType::Counseling => ("Mercy", "Wambui"),
            ProviderType::Social => ("Ann", "Chebet"),
            ProviderType::GbvRescue => ("Faith", "Njeri"),
            ProviderType::Chw => ("Halima", "Hassan"),
        };
        v.push((
            format!("{}@kintara.test", p.as_str()),
            Role::Provider,
            Some(*p),
            first.into(),
            last.into(),
        ));
    }
    v
}

/// Creates the missing demo accounts, providers verified; existing ones are left alone, except
/// that a demo provider still awaiting verification (from a database made before verification
/// existed) is verified.
pub async fn ensure_accounts(db: &Db) -> Result<usize, crate::error::ApiError> {
    let hash = password::hash(DEMO_PASSWORD.into()).await?;
    let mut created = 0;
    for (email, role, provider_type, first_name, last_name) in accounts() {
        let mut tx = db.begin_write().await?;
        let new = users::NewUser {
            email,
            password_hash: hash.clone(),
            first_name,
            last_name,
            role,
            provider_type,
            is_anonymous: false,
            state: AccountState::Active,
        };
        let email = new.email.clone();
        match users::insert(&mut tx, new).await {
            Ok(_) => {
                tx.commit().await?;
                created += 1;
            }
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let mut tx = db.begin_write().await?;
                if let Some(user) = users::find_by_email(&mut tx, &email).await? {
                    users::set_state(
                        &mut tx,
                        user.id,
                        &[AccountState::Unverified],
                        AccountState::Active,
                        true,
                    )
                    .await?;
                }
                tx.commit().await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(created)
}
