//! A pure compute task: prices an order (line totals, a volume discount, tax).

use serde::{Deserialize, Serialize};
use stepwasm_guest::{TaskError, export_task, log};

#[derive(Deserialize)]
struct Line {
    sku: String,
    quantity: u32,
    unit_price: f64,
}

#[derive(Deserialize)]
struct Order {
    id: String,
    lines: Vec<Line>,
    #[serde(default)]
    tax_rate: f64,
}

#[derive(Serialize)]
struct Priced {
    id: String,
    items: u32,
    subtotal: f64,
    discount: f64,
    tax: f64,
    total: f64,
}

/// Rounds to cents, so totals read like money.
fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn price(order: Order) -> Result<Priced, TaskError> {
    if order.lines.is_empty() {
        return Err(TaskError::new(
            "Order.Empty",
            format!("order {} has no lines", order.id),
        ));
    }
    if let Some(bad) = order.lines.iter().find(|l| l.unit_price < 0.0) {
        return Err(TaskError::new(
            "Order.InvalidPrice",
            format!("line {} has a negative unit price", bad.sku),
        ));
    }
    let items: u32 = order.lines.iter().map(|l| l.quantity).sum();
    let subtotal: f64 = order
        .lines
        .iter()
        .map(|l| f64::from(l.quantity) * l.unit_price)
        .sum();
    // 10% off from 10 items on.
    let discount = if items >= 10 { subtotal * 0.10 } else { 0.0 };
    let tax = (subtotal - discount) * order.tax_rate;
    log::info(&format!("priced order {} ({items} items)", order.id));
    Ok(Priced {
        id: order.id,
        items,
        subtotal: cents(subtotal),
        discount: cents(discount),
        tax: cents(tax),
        total: cents(subtotal - discount + tax),
    })
}

export_task!(price);
