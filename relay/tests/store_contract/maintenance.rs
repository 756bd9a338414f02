//! Maintenance (R18): suspensions per scope, each change audited in its transaction, an
//! end by `until` deleted (and audited) once.

use std::sync::Arc;

use onepush_relay::store::{MaintenanceRecord, NewAudit, Store};
use serde_json::json;

use super::records::{NOW, tenant, tenant_id};

fn audit(tenant: Option<&str>, event: &str) -> NewAudit {
    NewAudit {
        tenant_id: tenant.map(tenant_id),
        event: event.into(),
        user_id: None,
        credential_id: None,
        challenge_id: None,
        detail: json!({}),
    }
}

fn suspension(tenant: Option<&str>, ends_at: Option<i64>) -> MaintenanceRecord {
    MaintenanceRecord {
        tenant_id: tenant.map(tenant_id),
        message: Some("障害対応中".into()),
        ends_at,
        started_at: NOW,
    }
}

pub async fn suspensions_are_kept_per_scope_replaced_and_audited(store: Arc<Store>) {
    store
        .insert_tenant(&tenant("bank"), &[1; 32])
        .await
        .unwrap();
    assert!(store.maintenance().await.unwrap().is_empty());
    let relay = suspension(None, Some(NOW + 600));
    let bank = suspension(Some("bank"), None);
    store
        .put_maintenance(&relay, &audit(None, "maintenance.on"))
        .await
        .unwrap();
    store
        .put_maintenance(&bank, &audit(Some("bank"), "maintenance.on"))
        .await
        .unwrap();
    let mut rows = store.maintenance().await.unwrap();
    rows.sort_by_key(|r| r.tenant_id.is_some());
    assert_eq!(rows, [relay.clone(), bank.clone()]);

    // Turned on again: the same row, with the new message and end.
    let renewed = MaintenanceRecord {
        message: None,
        ends_at: Some(NOW + 60),
        started_at: NOW + 5,
        ..bank.clone()
    };
    store
        .put_maintenance(&renewed, &audit(Some("bank"), "maintenance.on"))
        .await
        .unwrap();
    let rows = store.maintenance().await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.contains(&renewed));

    // Off: deleted and audited once; off again changes nothing and audits nothing.
    let off = audit(Some("bank"), "maintenance.off");
    let bank_id = tenant_id("bank");
    assert!(
        store
            .delete_maintenance(Some(&bank_id), None, &off, NOW + 6)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_maintenance(Some(&bank_id), None, &off, NOW + 7)
            .await
            .unwrap()
    );
    let events: Vec<String> = store
        .audit(&bank_id, None, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        events,
        ["maintenance.on", "maintenance.on", "maintenance.off"]
    );
    assert_eq!(store.maintenance().await.unwrap(), [relay]);
}

pub async fn an_end_by_until_is_deleted_once_and_only_when_due(store: Arc<Store>) {
    store
        .put_maintenance(
            &suspension(None, Some(NOW + 60)),
            &audit(None, "maintenance.on"),
        )
        .await
        .unwrap();
    let off = audit(None, "maintenance.off");
    // Not due yet: kept.
    assert!(
        !store
            .delete_maintenance(None, Some(NOW + 59), &off, NOW + 59)
            .await
            .unwrap()
    );
    assert_eq!(store.maintenance().await.unwrap().len(), 1);
    // Due: of relays ending it at once, one does.
    let tries = (0..6).map(|_| {
        let (store, off) = (store.clone(), off.clone());
        tokio::spawn(async move {
            store
                .delete_maintenance(None, Some(NOW + 60), &off, NOW + 60)
                .await
                .unwrap()
        })
    });
    let ended = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(ended, 1);
    assert!(store.maintenance().await.unwrap().is_empty());
    // A suspension with no end is never ended as due.
    store
        .put_maintenance(&suspension(None, None), &audit(None, "maintenance.on"))
        .await
        .unwrap();
    assert!(
        !store
            .delete_maintenance(None, Some(i64::MAX), &off, NOW + 61)
            .await
            .unwrap()
    );
    assert_eq!(store.maintenance().await.unwrap().len(), 1);
}
