//! From a schema object's keywords to its normal form.
//!
//! Keywords that constrain one type (`minLength`, `minimum`, `properties`, `items`, …) narrow
//! that type's conjunction; `type` removes types; `enum`/`const` intersect with literals;
//! in-place applicators (`$ref`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`,
//! `dependentSchemas`) combine whole normal forms; `unevaluatedProperties`/`Items` come last,
//! once every sibling's evaluated keys and items are known. Keywords without validation
//! meaning (annotations, unknown keywords, `x-*`) are ignored; validation keywords that cannot
//! be expressed exactly are errors naming the keyword and the schema's JSON pointer.

use std::rc::Rc;

use serde_json::{Map, Value};

use crate::convert::regex::{RegexOptions, regex_search_to_expr};
use crate::error::Result;

use super::Relaxation;
use super::ctx::{Ctx, schema_err};
use super::doc::{Draft, escape_token};
use super::formats::format_rx;
use super::ir::{ANY, ArrC, ArrEval, Contains, ExtraRule, Id, NEVER, Norm, NumC, ObjC, ObjEval};
use super::numbers::Dec;
use super::strings::{Rx, StrC};

/// Most alternative conjunctions per type a schema may expand to.
pub(crate) const MAX_PARTS: usize = 2048;

fn kw_ptr(ptr: &str, kw: &str) -> String {
    format!("{ptr}/{}", escape_token(kw))
}

impl<'a> Ctx<'a> {
    fn number(&self, v: &Value, ptr: &str, kw: &str) -> Result<Dec> {
        match v {
            Value::Number(n) => Dec::from_json(n)
                .ok_or_else(|| schema_err(ptr, format!("\"{kw}\" is not a finite number"))),
            _ => Err(schema_err(ptr, format!("\"{kw}\" must be a number"))),
        }
    }

    fn count(&self, v: &Value, ptr: &str, kw: &str) -> Result<u64> {
        let d = self.number(v, ptr, kw)?;
        if d.neg || !d.is_integer() {
            return Err(schema_err(
                ptr,
                format!("\"{kw}\" must be a non-negative integer"),
            ));
        }
        Ok(d.text().parse::<u64>().unwrap_or(u64::MAX))
    }

    /// The pattern constraint for a regex source (cached).
    pub(crate) fn pattern(&mut self, src: &str, ptr: &str) -> Result<Rc<Rx>> {
        if let Some(r) = self.rx_cache.get(&(src.to_string(), false)) {
            return Ok(r.clone());
        }
        let e = regex_search_to_expr(src, RegexOptions::default()).map_err(|e| {
            schema_err(
                ptr,
                format!("unsupported pattern {src:?} ({})", e.message()),
            )
        })?;
        let rx = Rc::new(Rx::new(src.to_string(), false, e, None));
        self.rx_cache.insert((src.to_string(), false), rx.clone());
        Ok(rx)
    }

    fn format(&mut self, name: &str, ptr: &str) -> Result<Option<Rc<Rx>>> {
        if let Some(r) = self.rx_cache.get(&(name.to_string(), true)) {
            return Ok(Some(r.clone()));
        }
        match format_rx(name) {
            Some(r) => {
                let rx = Rc::new(r.map_err(|e| schema_err(ptr, e.message()))?);
                self.rx_cache.insert((name.to_string(), true), rx.clone());
                Ok(Some(rx))
            }
            None if self
                .opts
                .relax
                .contains(&Relaxation::IgnoreUnsupportedFormats) =>
            {
                Ok(None)
            }
            // A name no draft defines has no validation meaning (the specification treats
            // unknown formats as annotations): no constraint, exactly.
            None if !DEFINED_FORMATS.contains(&name) => Ok(None),
            None => Err(schema_err(
                &kw_ptr(ptr, "format"),
                format!("unsupported format \"{name}\""),
            )),
        }
    }

    fn schema_list(&mut self, m: &'a Map<String, Value>, kw: &str, ptr: &str) -> Result<Vec<Id>> {
        match m.get(kw) {
            Some(Value::Array(a)) if !a.is_empty() || kw == "prefixItems" || kw == "items" => Ok(a
                .iter()
                .enumerate()
                .map(|(i, v)| self.raw(v, &format!("{}/{i}", kw_ptr(ptr, kw))))
                .collect()),
            _ => Err(schema_err(
                ptr,
                format!("\"{kw}\" must be a non-empty array of schemas"),
            )),
        }
    }

    fn sub(&mut self, m: &'a Map<String, Value>, kw: &str, ptr: &str) -> Result<Option<Id>> {
        match m.get(kw) {
            None => Ok(None),
            Some(v @ (Value::Object(_) | Value::Bool(_))) => {
                Ok(Some(self.raw(v, &kw_ptr(ptr, kw))))
            }
            Some(_) => Err(schema_err(ptr, format!("\"{kw}\" must be a schema"))),
        }
    }

    /// The normal form of the schema `v` found at `ptr`.
    pub(crate) fn build(&mut self, v: &'a Value, ptr: &str) -> Result<Norm> {
        let m = match v {
            Value::Bool(true) => return Ok(Norm::any()),
            Value::Bool(false) => return Ok(Norm::never()),
            Value::Object(m) => m,
            _ => return Err(schema_err(ptr, "a schema must be an object or a boolean")),
        };
        let draft = self.doc.draft;
        if self.doc.dynamic {
            // Entering this schema's resource extends the dynamic scope (kept while building
            // this schema; `norm` restores the caller's).
            let res = self.doc.resource(ptr);
            if self.doc.has_dyn_anchors(&res) && !self.scope.contains(&res) {
                let mut sc = (*self.scope).clone();
                sc.push(res);
                self.scope = Rc::new(sc);
            }
        }
        // Up to draft 7, "$ref" makes its siblings ignored.
        if draft <= Draft::D7
            && let Some(r) = m.get("$ref")
        {
            let id = self.reference(r, ptr, "$ref")?;
            return Ok((*self.norm(id)?).clone());
        }
        for k in m.keys() {
            if matches!(k.as_str(), "disallow") {
                return Err(schema_err(ptr, format!("unsupported keyword \"{k}\"")));
            }
        }
        let mut n = Norm::any();
        if let Some(t) = m.get("type") {
            let names: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().ok_or(()))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| {
                        schema_err(ptr, "\"type\" must be a string or an array of strings")
                    })?,
                _ => {
                    return Err(schema_err(
                        ptr,
                        "\"type\" must be a string or an array of strings",
                    ));
                }
            };
            for name in &names {
                if !matches!(
                    *name,
                    "null" | "boolean" | "object" | "array" | "number" | "integer" | "string"
                ) {
                    if *name == "any" {
                        continue;
                    }
                    return Err(schema_err(ptr, format!("unknown type \"{name}\"")));
                }
            }
            if !names.contains(&"any") {
                n.only_types(&names);
            }
        }
        self.numeric_keywords(m, ptr, &mut n)?;
        self.string_keywords(m, ptr, &mut n)?;
        self.array_keywords(m, ptr, &mut n)?;
        self.object_keywords(m, ptr, &mut n)?;
        if let Some(c) = m.get("const") {
            let id = self.lit(c, &kw_ptr(ptr, "const"));
            let l = self.norm(id)?;
            n = self.and_norm(&n, &l, ptr)?;
        }
        if let Some(e) = m.get("enum") {
            let Value::Array(a) = e else {
                return Err(schema_err(ptr, "\"enum\" must be an array"));
            };
            let u = self.enum_norm(a, &kw_ptr(ptr, "enum"))?;
            n = self.and_norm(&n, &u, ptr)?;
        }
        for kw in ["$ref", "$dynamicRef", "$recursiveRef"] {
            if let Some(r) = m.get(kw) {
                let id = self.reference(r, ptr, kw)?;
                let x = self.norm(id)?;
                n = self.and_norm(&n, &x, ptr)?;
            }
        }
        for kw in ["allOf", "extends"] {
            if let Some(v) = m.get(kw) {
                let ids = if kw == "extends" && v.is_object() {
                    vec![self.raw(v, &kw_ptr(ptr, kw))]
                } else {
                    self.schema_list(m, kw, ptr)?
                };
                for id in ids {
                    let x = self.norm(id)?;
                    n = self.and_norm(&n, &x, ptr)?;
                }
            }
        }
        if m.contains_key("anyOf") {
            let ids = self.schema_list(m, "anyOf", ptr)?;
            let mut norms = Vec::new();
            for &id in &ids {
                norms.push(self.norm(id)?);
            }
            let exact =
                m.contains_key("unevaluatedProperties") || m.contains_key("unevaluatedItems");
            let u = self.any_of(&ids, &norms, exact, &kw_ptr(ptr, "anyOf"))?;
            n = self.and_norm(&n, &u, ptr)?;
        }
        if m.contains_key("oneOf") {
            let ids = self.schema_list(m, "oneOf", ptr)?;
            n = self.one_of(&n, &ids, &kw_ptr(ptr, "oneOf"))?;
        }
        if let Some(id) = self.sub(m, "not", ptr)? {
            let nid = self.not(id, &kw_ptr(ptr, "not"));
            let x = self.norm(nid).map_err(|e| {
                crate::error::Error::new(e.kind(), format!("\"not\": {}", e.message()))
            })?;
            n = self.and_norm(&n, &x, ptr)?;
        }
        // `if`/`then`/`else` came with draft 7; earlier drafts ignore them as unknown words.
        if draft >= Draft::D7
            && let Some(i) = self.sub(m, "if", ptr)?
        {
            let t = self.sub(m, "then", ptr)?.unwrap_or(ANY);
            let e = self.sub(m, "else", ptr)?.unwrap_or(ANY);
            let pos = self.and(&[i, t], ptr);
            let ni = self.not(i, &kw_ptr(ptr, "if"));
            let neg = self.and(&[ni, e], ptr);
            let a = self.norm(pos)?;
            let b = self.norm(neg).map_err(|e| {
                crate::error::Error::new(e.kind(), format!("\"if\": {}", e.message()))
            })?;
            let u = self.or_norm(&a, &b);
            n = self.and_norm(&n, &u, ptr)?;
        }
        self.dependencies(m, ptr, &mut n)?;
        if let Some(u) = self.sub(m, "unevaluatedProperties", ptr)? {
            for o in &mut n.objs {
                apply_unevaluated_props(self, o, u, ptr)?;
            }
        }
        if let Some(u) = self.sub(m, "unevaluatedItems", ptr)? {
            let mut arrs = std::mem::take(&mut n.arrs);
            for a in &mut arrs {
                apply_unevaluated_items(self, a, u, ptr)?;
            }
            n.arrs = arrs;
        }
        Ok(n)
    }

    /// The node a `$ref` (or `$dynamicRef`, `$recursiveRef`) points to.
    ///
    /// A `$dynamicRef` whose static target carries the matching `$dynamicAnchor` (a
    /// `$recursiveRef` whose target has `$recursiveAnchor: true`) resolves instead to that
    /// anchor in the outermost resource of the dynamic scope that defines it.
    fn reference(&mut self, r: &Value, ptr: &str, kw: &str) -> Result<Id> {
        let Value::String(r) = r else {
            return Err(schema_err(ptr, format!("\"{kw}\" must be a string")));
        };
        let (mut p, mut v) = self
            .doc
            .resolve_ref(ptr, r)
            .map_err(|e| schema_err(ptr, e))?;
        let name = match kw {
            "$dynamicRef" => r
                .split_once('#')
                .map(|(_, f)| f)
                .filter(|f| !f.is_empty() && !f.starts_with('/'))
                .filter(|f| v.get("$dynamicAnchor").and_then(Value::as_str) == Some(*f))
                .map(str::to_string),
            "$recursiveRef" => {
                (v.get("$recursiveAnchor") == Some(&Value::Bool(true))).then(String::new)
            }
            _ => None,
        };
        if let Some(name) = name {
            let scope = self.scope.clone();
            for res in scope.iter() {
                if let Some(q) = self.doc.dyn_anchor(res, &name) {
                    p = q.clone();
                    v = self.doc.root.pointer(&p).unwrap_or(self.doc.root);
                    break;
                }
            }
        }
        Ok(self.raw(v, &p))
    }

    fn numeric_keywords(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
        n: &mut Norm,
    ) -> Result<()> {
        let mut c = NumC::any();
        let mut touched = false;
        if let Some(v) = m.get("minimum") {
            let excl = m.get("exclusiveMinimum") == Some(&Value::Bool(true));
            c.lo = Some((self.number(v, ptr, "minimum")?, excl));
            touched = true;
        }
        if let Some(v) = m.get("maximum") {
            let excl = m.get("exclusiveMaximum") == Some(&Value::Bool(true));
            c.hi = Some((self.number(v, ptr, "maximum")?, excl));
            touched = true;
        }
        let mut extra = NumC::any();
        if let Some(v) = m.get("exclusiveMinimum")
            && !v.is_boolean()
        {
            extra.lo = Some((self.number(v, ptr, "exclusiveMinimum")?, true));
            touched = true;
        }
        if let Some(v) = m.get("exclusiveMaximum")
            && !v.is_boolean()
        {
            extra.hi = Some((self.number(v, ptr, "exclusiveMaximum")?, true));
            touched = true;
        }
        for kw in ["multipleOf", "divisibleBy"] {
            if let Some(v) = m.get(kw) {
                let d = self.number(v, ptr, kw)?;
                if d.neg || d.is_zero() {
                    return Err(schema_err(ptr, format!("\"{kw}\" must be positive")));
                }
                if d.is_multiple_of(&d).is_none() {
                    return Err(schema_err(
                        ptr,
                        format!(
                            "unsupported keyword \"{kw}\" (value {} too large)",
                            d.text()
                        ),
                    ));
                }
                c.mult.push(d);
                touched = true;
            }
        }
        if !touched {
            return Ok(());
        }
        let c = c.and(&extra)?;
        let mut out = Vec::new();
        if let Some(c) = c {
            for x in &n.nums {
                if let Some(y) = x.and(&c)? {
                    out.push(y);
                }
            }
        }
        n.nums = out;
        Ok(())
    }

    fn string_keywords(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
        n: &mut Norm,
    ) -> Result<()> {
        let mut c = StrC::any();
        let mut touched = false;
        if let Some(v) = m.get("minLength") {
            c.min = self.count(v, ptr, "minLength")?;
            touched = true;
        }
        if let Some(v) = m.get("maxLength") {
            c.max = Some(self.count(v, ptr, "maxLength")?);
            touched = true;
        }
        if let Some(v) = m.get("pattern") {
            let Value::String(s) = v else {
                return Err(schema_err(ptr, "\"pattern\" must be a string"));
            };
            c.pats.push(self.pattern(s, &kw_ptr(ptr, "pattern"))?);
            touched = true;
        }
        // A format only constrains strings: where the schema allows none, it is moot.
        if let Some(v) = m.get("format")
            && let Value::String(s) = v
            && !n.strs.is_empty()
            && let Some(rx) = self.format(s, ptr)?
        {
            c.pats.push(rx);
            touched = true;
        }
        if !touched {
            return Ok(());
        }
        let mut out = Vec::new();
        for x in &n.strs {
            if let Some(y) = x.and(&c)? {
                out.push(y);
            }
        }
        n.strs = out;
        Ok(())
    }

    fn array_keywords(&mut self, m: &'a Map<String, Value>, ptr: &str, n: &mut Norm) -> Result<()> {
        let mut a = ArrC::any();
        let mut touched = false;
        if m.contains_key("prefixItems") {
            a.prefix = self.schema_list(m, "prefixItems", ptr)?;
            a.eval.prefix = a.prefix.len();
            a.declared = true;
            touched = true;
        }
        match m.get("items") {
            Some(Value::Array(_)) => {
                a.prefix = self.schema_list(m, "items", ptr)?;
                a.eval.prefix = a.prefix.len();
                a.declared = true;
                if let Some(id) = self.sub(m, "additionalItems", ptr)? {
                    a.items = id;
                    a.eval.all = true;
                    a.open = id != NEVER;
                }
                touched = true;
            }
            Some(_) => {
                let id = self.sub(m, "items", ptr)?.unwrap();
                a.items = id;
                a.eval.all = true;
                a.open = id != NEVER;
                touched = true;
            }
            None => {}
        }
        if let Some(v) = m.get("minItems") {
            a.min = self.count(v, ptr, "minItems")?;
            touched = true;
        }
        if let Some(v) = m.get("maxItems") {
            a.max = Some(self.count(v, ptr, "maxItems")?);
            touched = true;
        }
        if let Some(id) = self.sub(m, "contains", ptr)? {
            let min = match m.get("minContains") {
                Some(v) => self.count(v, ptr, "minContains")?,
                None => 1,
            };
            let max = match m.get("maxContains") {
                Some(v) => Some(self.count(v, ptr, "maxContains")?),
                None => None,
            };
            if min > 0 || max.is_some() {
                a.contains.push(Contains {
                    schema: id,
                    min,
                    max,
                    from: 0,
                });
            }
            a.eval.contains.push(id);
            touched = true;
        }
        if m.get("uniqueItems") == Some(&Value::Bool(true)) {
            a.unique = true;
            touched = true;
        }
        if !touched {
            return Ok(());
        }
        let mut out = Vec::new();
        for x in n.arrs.clone() {
            if let Some(y) = self.and_arr(&x, &a, ptr)? {
                out.push(y);
            }
        }
        n.arrs = out;
        Ok(())
    }

    fn object_keywords(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
        n: &mut Norm,
    ) -> Result<()> {
        let mut o = ObjC::any();
        let mut touched = false;
        let mut pats: Vec<(Rc<Rx>, Id)> = Vec::new();
        if let Some(v) = m.get("patternProperties") {
            let Value::Object(pm) = v else {
                return Err(schema_err(ptr, "\"patternProperties\" must be an object"));
            };
            let pp = kw_ptr(ptr, "patternProperties");
            for (k, s) in pm {
                let kp = format!("{pp}/{}", escape_token(k));
                let rx = self.pattern(k, &kp)?;
                let id = self.raw(s, &kp);
                pats.push((rx, id));
            }
            o.declared = true;
            touched = true;
        }
        let add = self.sub(m, "additionalProperties", ptr)?;
        let mut required: Vec<String> = Vec::new();
        if let Some(v) = m.get("properties") {
            let Value::Object(pm) = v else {
                return Err(schema_err(ptr, "\"properties\" must be an object"));
            };
            let pp = kw_ptr(ptr, "properties");
            for (k, s) in pm {
                let kp = format!("{pp}/{}", escape_token(k));
                let mut ids = vec![self.raw(s, &kp)];
                for (rx, pid) in &pats {
                    if rx.matches(k)? {
                        ids.push(*pid);
                    }
                }
                let id = self.and(&ids, &kp);
                o.props.push((k.clone(), id));
                o.eval.names.push(k.clone());
                // Draft 3: "required": true inside the property schema.
                if let Value::Object(sm) = s
                    && sm.get("required") == Some(&Value::Bool(true))
                {
                    required.push(k.clone());
                }
            }
            o.eval.names.sort();
            o.declared = true;
            touched = true;
        }
        match m.get("required") {
            Some(Value::Array(a)) => {
                for x in a {
                    let Value::String(k) = x else {
                        return Err(schema_err(ptr, "\"required\" must be an array of strings"));
                    };
                    required.push(k.clone());
                }
                o.declared = true;
                touched = true;
            }
            Some(Value::Bool(_)) | None => {}
            Some(_) => return Err(schema_err(ptr, "\"required\" must be an array of strings")),
        }
        let rule = ExtraRule {
            pats: pats.clone(),
            add: add.unwrap_or(ANY),
        };
        for k in &required {
            if o.prop(k).is_none() {
                let id = self.eff_rule(&rule, k)?;
                o.props.push((k.clone(), id));
            }
            o.require(k);
        }
        if !pats.is_empty() || add.is_some() {
            o.eval.pats = pats.iter().map(|(r, _)| r.clone()).collect();
            o.eval.all = add.is_some();
            o.open = add.is_some_and(|a| a != NEVER);
            if rule.add != ANY || rule.pats.iter().any(|(_, v)| *v != ANY) {
                o.extra.push(rule);
            }
            touched = true;
        }
        if let Some(id) = self.sub(m, "propertyNames", ptr)? {
            o.names.push(id);
            touched = true;
        }
        if let Some(v) = m.get("minProperties") {
            o.min = self.count(v, ptr, "minProperties")?;
            touched = true;
        }
        if let Some(v) = m.get("maxProperties") {
            o.max = Some(self.count(v, ptr, "maxProperties")?);
            touched = true;
        }
        if !touched {
            return Ok(());
        }
        let mut out = Vec::new();
        for x in n.objs.clone() {
            out.extend(self.and_obj(&x, &o, ptr)?);
        }
        n.objs = out;
        Ok(())
    }

    /// The value schema a rule gives a key it does not name.
    pub(crate) fn eff_rule(&mut self, r: &ExtraRule, k: &str) -> Result<Id> {
        let mut ids = Vec::new();
        for (rx, id) in &r.pats {
            if rx.matches(k)? {
                ids.push(*id);
            }
        }
        if ids.is_empty() {
            ids.push(r.add);
        }
        Ok(self.and(&ids, ""))
    }

    /// `dependentRequired`, `dependentSchemas` and `dependencies`, each split into "the key is
    /// absent" or "the key is present and the dependency holds".
    fn dependencies(&mut self, m: &'a Map<String, Value>, ptr: &str, n: &mut Norm) -> Result<()> {
        let mut deps: Vec<(String, std::result::Result<Vec<String>, Id>)> = Vec::new();
        for kw in ["dependentRequired", "dependentSchemas", "dependencies"] {
            let Some(v) = m.get(kw) else { continue };
            let Value::Object(dm) = v else {
                return Err(schema_err(ptr, format!("\"{kw}\" must be an object")));
            };
            for (k, d) in dm {
                match d {
                    Value::Array(a) if kw != "dependentSchemas" => {
                        let names = a
                            .iter()
                            .map(|x| x.as_str().map(str::to_string).ok_or(()))
                            .collect::<std::result::Result<Vec<_>, _>>()
                            .map_err(|_| {
                                schema_err(ptr, format!("\"{kw}\" lists must hold strings"))
                            })?;
                        deps.push((k.clone(), Ok(names)));
                    }
                    Value::Object(_) | Value::Bool(_) if kw != "dependentRequired" => {
                        let id = self.raw(d, &format!("{}/{}", kw_ptr(ptr, kw), escape_token(k)));
                        deps.push((k.clone(), Err(id)));
                    }
                    Value::String(s) if kw == "dependencies" => {
                        deps.push((k.clone(), Ok(vec![s.clone()])));
                    }
                    _ => return Err(schema_err(ptr, format!("invalid \"{kw}\" entry \"{k}\""))),
                }
            }
        }
        for (k, d) in deps {
            let mut forbid = ObjC::any();
            forbid.props.push((k.clone(), NEVER));
            let mut req = ObjC::any();
            req.props.push((k.clone(), ANY));
            req.require(&k);
            let extra: Vec<ObjC> = match &d {
                Ok(names) => {
                    for x in names {
                        if req.prop(x).is_none() {
                            req.props.push((x.clone(), ANY));
                        }
                        req.require(x);
                    }
                    vec![req.clone()]
                }
                Err(id) => {
                    let s = self.norm(*id)?;
                    let mut v = Vec::new();
                    for o in s.objs.clone() {
                        v.extend(self.and_obj(&req, &o, ptr)?);
                    }
                    v
                }
            };
            let mut out = Vec::new();
            for o in n.objs.clone() {
                let present = o.required.binary_search(&k).is_ok();
                let absent = o.prop(&k) == Some(NEVER);
                if !present {
                    out.extend(self.and_obj(&o, &forbid, ptr)?);
                }
                if !absent {
                    for e in &extra {
                        out.extend(self.and_obj(&o, e, ptr)?);
                    }
                }
            }
            if out.len() > MAX_PARTS {
                return Err(schema_err(ptr, "too many dependency combinations"));
            }
            n.objs = out;
        }
        Ok(())
    }

    /// The union of literal values, with strings and numbers gathered into one set each.
    fn enum_norm(&mut self, a: &'a [Value], ptr: &str) -> Result<Norm> {
        let mut u = Norm::never();
        let mut strs = Vec::new();
        let mut nums = Vec::new();
        for (i, x) in a.iter().enumerate() {
            match x {
                Value::String(s) => strs.push(s.clone()),
                Value::Number(d) => nums.push(
                    Dec::from_json(d)
                        .ok_or_else(|| schema_err(ptr, "number literal out of range"))?,
                ),
                _ => {
                    let id = self.lit(x, &format!("{ptr}/{i}"));
                    let l = self.norm(id)?;
                    u = self.or_norm(&u, &l);
                }
            }
        }
        if !strs.is_empty() {
            u.strs.push(StrC::lits(strs));
        }
        if !nums.is_empty() {
            u.nums.push(NumC::lits(nums));
        }
        Ok(u)
    }

    /// The normal form of a literal value.
    pub(crate) fn lit_norm(&mut self, v: &'a Value, ptr: &str) -> Result<Norm> {
        let mut n = Norm::never();
        match v {
            Value::Null => n.null = true,
            Value::Bool(true) => n.tru = true,
            Value::Bool(false) => n.fal = true,
            Value::Number(x) => {
                let d = Dec::from_json(x)
                    .ok_or_else(|| schema_err(ptr, "number literal out of range"))?;
                n.nums = vec![NumC::lits(vec![d])];
            }
            Value::String(s) => n.strs = vec![StrC::lits(vec![s.clone()])],
            Value::Array(a) => {
                let prefix = a
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.lit(x, &format!("{ptr}/{i}")))
                    .collect();
                n.arrs = vec![ArrC {
                    prefix,
                    items: NEVER,
                    min: a.len() as u64,
                    max: Some(a.len() as u64),
                    eval: ArrEval::default(),
                    ..ArrC::any()
                }];
            }
            Value::Object(om) => {
                let mut o = ObjC::any();
                for (k, x) in om {
                    let id = self.lit(x, &format!("{ptr}/{}", escape_token(k)));
                    o.props.push((k.clone(), id));
                    o.require(k);
                }
                o.extra.push(ExtraRule {
                    pats: vec![],
                    add: NEVER,
                });
                o.eval = ObjEval::default();
                n.objs = vec![o];
            }
        }
        Ok(n)
    }
}

impl<'a> Ctx<'a> {
    /// `anyOf`: the union. A branch's evaluated properties and items are uncertain when
    /// another branch that may also match evaluates some; with `exact` (an `unevaluated*`
    /// keyword in the same schema), the union is split by which branches match instead.
    fn any_of(&mut self, ids: &[Id], norms: &[Rc<Norm>], exact: bool, ptr: &str) -> Result<Norm> {
        let has_eval = |n: &Norm| {
            n.objs.iter().any(|o| o.eval != ObjEval::default())
                || n.arrs.iter().any(|a| a.eval != ArrEval::default())
        };
        let k = norms.len();
        if exact && k <= 5 && norms.iter().any(|n| has_eval(n)) {
            let r = (|| -> Result<Norm> {
                let mut u = Norm::never();
                for mask in 1u32..(1 << k) {
                    let mut part = Norm::any();
                    for i in 0..k {
                        let x = if mask & (1 << i) != 0 {
                            norms[i].clone()
                        } else {
                            let nid = self.not(ids[i], ptr);
                            self.norm(nid)?
                        };
                        part = self.and_norm(&part, &x, ptr)?;
                        if part.is_never() {
                            break;
                        }
                    }
                    u = self.or_norm(&u, &part);
                }
                Ok(u)
            })();
            if let Ok(u) = r {
                return Ok(u);
            }
        }
        let mut u = Norm::never();
        for (i, n) in norms.iter().enumerate() {
            let mut n = (**n).clone();
            let others =
                |f: &dyn Fn(&Norm) -> bool| norms.iter().enumerate().any(|(j, x)| j != i && f(x));
            if others(&|x: &Norm| x.objs.iter().any(|o| o.eval != ObjEval::default())) {
                for o in &mut n.objs {
                    o.eval.uncertain = true;
                }
            }
            if others(&|x: &Norm| x.arrs.iter().any(|a| a.eval != ArrEval::default())) {
                for a in &mut n.arrs {
                    a.eval.uncertain = true;
                }
            }
            u = self.or_norm(&u, &n);
        }
        Ok(u)
    }
}

fn apply_unevaluated_props(ctx: &mut Ctx, o: &mut ObjC, u: Id, ptr: &str) -> Result<()> {
    if o.eval.all {
        return Ok(());
    }
    if o.eval.uncertain {
        return Err(schema_err(
            ptr,
            "unsupported keyword \"unevaluatedProperties\" (which properties are evaluated depends on which anyOf branches match)",
        ));
    }
    let mut props = std::mem::take(&mut o.props);
    for (k, v) in &mut props {
        if o.eval.names.binary_search(k).is_ok() {
            continue;
        }
        let mut hit = false;
        for p in &o.eval.pats {
            if p.matches(k)? {
                hit = true;
            }
        }
        if !hit {
            *v = ctx.and(&[*v, u], ptr);
        }
    }
    o.props = props;
    o.extra.push(ExtraRule {
        pats: o.eval.pats.iter().map(|p| (p.clone(), ANY)).collect(),
        add: u,
    });
    o.eval.all = true;
    o.open |= u != NEVER;
    Ok(())
}

fn apply_unevaluated_items(ctx: &mut Ctx, a: &mut ArrC, u: Id, ptr: &str) -> Result<()> {
    if a.eval.all {
        return Ok(());
    }
    if a.eval.uncertain {
        return Err(schema_err(
            ptr,
            "unsupported keyword \"unevaluatedItems\" (which items are evaluated depends on which anyOf branches match)",
        ));
    }
    let mut ids = vec![u];
    ids.extend(a.eval.contains.iter().copied());
    let uc = ctx.or(&ids, ptr);
    for j in a.eval.prefix..a.prefix.len() {
        a.prefix[j] = ctx.and(&[a.prefix[j], uc], ptr);
    }
    a.items = ctx.and(&[a.items, uc], ptr);
    a.eval.all = true;
    a.open |= u != NEVER;
    Ok(())
}

/// Format names the specification defines (drafts 7 to 2020-12). A defined format this
/// converter cannot express is refused (or ignored with
/// [`Relaxation::IgnoreUnsupportedFormats`]); any other name is an annotation.
const DEFINED_FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];
