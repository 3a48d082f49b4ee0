// The member portal's "verified" marks, computed in the member's own browser: for each
// transaction, its log entry, its RFC 9162 inclusion proof and the log's signed checkpoint
// (C2SP signed note), checked with WebCrypto (SHA-256, Ed25519). Nothing the page's server
// claims is trusted: only the public log API's bytes and the log's published key.
"use strict";
(function () {
  const enc = new TextEncoder();
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const sha256 = async (...parts) => {
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { all.set(p, at); at += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  };
  const get = async (path, text) => {
    const r = await fetch(path, { credentials: "omit" });
    if (!r.ok) throw new Error(path + ": " + r.status);
    return text ? r.text() : r.json();
  };

  // RFC 9162 §2.1.3.2: the root an inclusion path leads to.
  async function rootFrom(index, size, leaf, path) {
    if (index >= size) throw new Error("index outside the tree");
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (sn === 0) throw new Error("path too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(Uint8Array.of(1), p, r);
        if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; } }
      } else {
        r = await sha256(Uint8Array.of(1), r, p);
      }
      fn >>= 1; sn >>= 1;
    }
    if (sn !== 0) throw new Error("path too short");
    return r;
  }

  // The checkpoint: a signed note whose body is "origin\nsize\nroot\n", signed by the key
  // "<origin>+<key id>+<base64(0x01 || Ed25519 public key)>".
  async function checkpoint() {
    const [vkey, note] = await Promise.all([get("/v1/log/key", true), get("/v1/log/checkpoint", true)]);
    const parts = vkey.trim().split("+");  // the name has no "+", base64 may
    const name = parts[0], keyB64 = parts.slice(2).join("+");
    const keyBytes = b64(keyB64);
    if (keyBytes[0] !== 1 || keyBytes.length !== 33) throw new Error("not an Ed25519 key");
    const keyId = (await sha256(enc.encode(name + "\n"), keyBytes)).slice(0, 4);
    const split = note.indexOf("\n\n");
    const body = note.slice(0, split + 1);
    const [origin, size, root] = body.split("\n");
    if (origin !== name) throw new Error("another log's checkpoint");
    const key = await crypto.subtle.importKey("raw", keyBytes.slice(1), { name: "Ed25519" }, false, ["verify"]);
    for (const line of note.slice(split + 2).split("\n")) {
      const m = line.match(/^\u2014 (\S+) (\S+)$/);
      if (!m || m[1] !== name) continue;
      const sig = b64(m[2]);
      if (!same(sig.slice(0, 4), keyId)) continue;
      if (await crypto.subtle.verify({ name: "Ed25519" }, key, sig.slice(4), enc.encode(body))) {
        return { size: Number(size), root: b64(root) };
      }
    }
    throw new Error("the checkpoint's signature does not verify");
  }

  async function verify(cell, signed) {
    const index = Number(cell.dataset.index);
    if (cell.dataset.index === "" || index >= signed.size) return "pending";
    const [entries, proof] = await Promise.all([
      get("/v1/log/entries?start=" + index + "&limit=1"),
      get("/v1/log/proof/inclusion?size=" + signed.size + "&index=" + index)]);
    const entry = b64(entries.entries[0].entry);
    const fields = JSON.parse(new TextDecoder().decode(entry));
    if (String(fields.id) !== cell.dataset.transaction) return "bad";  // another transaction's entry
    const leaf = await sha256(Uint8Array.of(0), entry);
    if (!same(leaf, b64(proof.leaf_hash))) return "bad";
    const root = await rootFrom(index, signed.size, leaf, proof.hashes.map(b64));
    return same(root, signed.root) ? "ok" : "bad";
  }

  async function verifyAll() {
    const words = document.getElementById("verify-words").dataset;
    const cells = [...document.querySelectorAll("[data-transaction][data-index]")];
    let signed = null, why = "";
    try { signed = await checkpoint(); } catch (e) { why = String(e); }
    for (const cell of cells) {
      let outcome = "bad";
      if (signed) { try { outcome = await verify(cell, signed); } catch (e) { why = String(e); } }
      cell.dataset.why = why;  // what failed, for whoever inspects the page
      cell.dataset.outcome = outcome;
      cell.className = "verify " + { ok: "ok", bad: "error", pending: "muted" }[outcome];
      cell.textContent = (outcome === "ok" ? "\u2713 " : outcome === "bad" ? "\u2717 " : "") + words[outcome];
    }
  }
  window.dangolVerifyAll = verifyAll;
  document.addEventListener("DOMContentLoaded", verifyAll);
})();
