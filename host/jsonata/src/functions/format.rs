//! Number formatting: `$formatNumber`, `$formatBase`, `$formatInteger`, `$parseInteger`.

use super::{Call, arg};
use crate::Error;
use crate::value::Value;

type R<'a> = Result<Value<'a>, Error>;

pub(super) fn format_number<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
pub(super) fn format_base<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(arg(&args, 0))
}
pub(super) fn format_integer<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
pub(super) fn parse_integer<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
