//! How each lane is doing, for operators: `GET /api/admin/deliveries/` and
//! `kintara-server deliveries`. Counts and error texts only: nothing of any notification.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use chrono::{Duration, Utc};
use kintara_api::{
    endpoint, DeliveryCounts, DeliveryErrorEntry, DeliveryHealth, DeliveryLane, DeliveryState,
    ErrorEnvelope, LaneHealth,
};
use sqlx::Row;

use crate::auth::AuthUser;
use crate::db::{get_enum, get_opt_ts, get_ts, ts, Db};
use crate::error::ApiResult;
use crate::state::AppState;

/// Errors kept per lane in the answer.
const RECENT_ERRORS: usize = 5;

/// Delivery health.
#[utoipa::path(get, path = endpoint::AdminDeliveries::PATH, tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "Per lane: counts, oldest pending, latest errors", body = DeliveryHealth),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
    ))]
pub async fn get(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<DeliveryHealth>> {
    user.may::<endpoint::AdminDeliveries>()?;
    Ok(Json(load(&state.db).await?))
}

/// Every lane, configured or not, in a fixed order.
pub async fn load(db: &Db) -> Result<DeliveryHealth, sqlx::Error> {
    let now = Utc::now();
    let mut lanes: BTreeMap<DeliveryLane, LaneHealth> = DeliveryLane::ALL
        .iter()
        .map(|&lane| {
            (
                lane,
                LaneHealth {
                    lane,
                    configured: false,
                    last_hour: DeliveryCounts::default(),
                    last_day: DeliveryCounts::default(),
                    oldest_pending: None,
                    recent_errors: Vec::new(),
                },
            )
        })
        .collect();
    for row in sqlx::query("SELECT lane FROM delivery_lanes")
        .fetch_all(&db.read)
        .await?
    {
        let lane = get_enum(&row, "lane", DeliveryLane::parse)?;
        lanes.get_mut(&lane).expect("every lane").configured = true;
    }
    let hour = ts(now - Duration::hours(1));
    for row in sqlx::query(
        "SELECT lane, state, COUNT(*) AS n, \
           SUM(CASE WHEN created_at >= $2 THEN 1 ELSE 0 END) AS in_hour \
         FROM deliveries WHERE created_at >= $1 GROUP BY lane, state",
    )
    .bind(ts(now - Duration::days(1)))
    .bind(&hour)
    .fetch_all(&db.read)
    .await?
    {
        let lane = lanes
            .get_mut(&get_enum(&row, "lane", DeliveryLane::parse)?)
            .expect("every lane");
        let state = get_enum(&row, "state", DeliveryState::parse)?;
        let day: i64 = row.try_get("n")?;
        let hour: i64 = row.try_get("in_hour")?;
        for (counts, n) in [(&mut lane.last_day, day), (&mut lane.last_hour, hour)] {
            *match state {
                DeliveryState::Sent => &mut counts.sent,
                DeliveryState::Pending => &mut counts.pending,
                DeliveryState::Failed => &mut counts.failed,
                DeliveryState::Skipped => &mut counts.skipped,
            } += n;
        }
    }
    for row in sqlx::query(
        "SELECT lane, MIN(created_at) AS oldest FROM deliveries \
         WHERE state = 'pending' GROUP BY lane",
    )
    .fetch_all(&db.read)
    .await?
    {
        let lane = get_enum(&row, "lane", DeliveryLane::parse)?;
        lanes.get_mut(&lane).expect("every lane").oldest_pending = get_opt_ts(&row, "oldest")?;
    }
    for row in sqlx::query(
        "SELECT lane, updated_at, last_error FROM deliveries \
         WHERE last_error IS NOT NULL AND state IN ('pending', 'failed') \
         ORDER BY updated_at DESC LIMIT 200",
    )
    .fetch_all(&db.read)
    .await?
    {
        let lane = lanes
            .get_mut(&get_enum(&row, "lane", DeliveryLane::parse)?)
            .expect("every lane");
        if lane.recent_errors.len() < RECENT_ERRORS {
            lane.recent_errors.push(DeliveryErrorEntry {
                at: get_ts(&row, "updated_at")?,
                error: row.try_get("last_error")?,
            });
        }
    }
    Ok(DeliveryHealth {
        lanes: lanes.into_values().collect(),
        generated_at: now,
    })
}

/// The health as a table for a terminal.
pub fn table(h: &DeliveryHealth) -> String {
    let mut out = format!(
        "{:<9} {:<10} {:>22} {:>22}  oldest pending\n{:<9} {:<10} {:>22} {:>22}\n",
        "lane",
        "configured",
        "last hour",
        "last day",
        "",
        "",
        "sent/pend/fail/skip",
        "sent/pend/fail/skip"
    );
    let counts =
        |c: &DeliveryCounts| format!("{}/{}/{}/{}", c.sent, c.pending, c.failed, c.skipped);
    for l in &h.lanes {
        out.push_str(&format!(
            "{:<9} {:<10} {:>22} {:>22}  {}\n",
            l.lane.as_str(),
            if l.configured { "yes" } else { "no" },
            counts(&l.last_hour),
            counts(&l.last_day),
            l.oldest_pending.map(ts).unwrap_or_else(|| "-".into()),
        ));
        for e in &l.recent_errors {
            out.push_str(&format!("    {}  {}\n", ts(e.at), e.error));
        }
    }
    out
}
