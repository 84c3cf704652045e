// stark-por: an inclusion-proof verifier that runs in the browser.
//
// A third implementation of what the Rust core (rust/core/src/inclusion.rs) and the pure-Python
// verifier (stark_por/verifiers/pyverify.py) check, written here in plain JavaScript with no
// library, meant to be read in one sitting:
//
// 1. the field GF(p), p = 2^64 - 2^32 + 1, on pairs of 32-bit halves held in doubles;
// 2. the Rescue-Prime permutation Rp64_256 of winterfell 0.13.1 (the constants of pyverify.py);
// 3. stark-por's hashes: byte strings (the id commitment), the leaf of a user (statement
//    versions 1, 2 and 3: version 2 encodes each balance in two elements, amounts up to 2^112,
//    as circuits/liabilities/src/hash.rs; version 3 hashes as version 2, an entry's kind —
//    equity or debt — in its tag), a tree node;
// 4. SHA-256 and the statement fingerprint (Statement::fingerprint in rust/core/src/statement.rs),
//    and version 3's collateral coefficients folded from the round's prices and haircuts;
//    SHA-256 is written here because crypto.subtle exists only in secure contexts
//    (not on a page served over plain http) and only asynchronously;
// 5. a strict JSON reader: duplicate keys and non-integer numbers are refused as Python's json +
//    pyverify refuse them (JSON.parse would let them through), and so are strings with a lone
//    surrogate (not Unicode text: it has no UTF-8);
// 6. the inclusion proof, JSON versions 1, 2 and 3 (the statement version of its round), and the
//    check, with the same reason codes in the same order as the other verifiers (version 3:
//    the user's collateral check, recomputed exactly);
// 7. the page: reads the round's summary embedded in it, the user's id and file, shows a verdict.
//
// Nothing here sends anything anywhere; the page's Content-Security-Policy forbids it anyway.
"use strict";

const StarkPor = (() => {
  // ------------------------------------------------------------------------------------------
  // 1. GF(p). An element is (hi, lo), two integers in [0, 2^32) stored in doubles, so every
  //    intermediate sum below stays exact (< 2^53). Results come back in RH, RL.
  // ------------------------------------------------------------------------------------------
  const TWO32 = 4294967296;
  const P = (1n << 64n) - (1n << 32n) + 1n;
  let RH = 0;
  let RL = 0;

  // Sets (RH, RL) to the canonical form of hi·2^32 + lo mod p, for any integers |hi|, |lo| < 2^52.
  // Uses 2^64 ≡ 2^32 - 1 (mod p).
  function reduce(hi, lo) {
    let c = Math.floor(lo / TWO32);
    lo -= c * TWO32;
    hi += c;
    while (hi >= TWO32 || hi < 0) {
      const h1 = Math.floor(hi / TWO32); // hi = h1·2^32 + h0, and h1·2^64 ≡ h1·2^32 - h1
      hi = hi - h1 * TWO32 + h1;
      lo -= h1;
      c = Math.floor(lo / TWO32);
      lo -= c * TWO32;
      hi += c;
    }
    if (hi === 0xffffffff && lo >= 1) { // in [p, 2^64): subtract p = 0xffffffff·2^32 + 1
      hi = 0;
      lo -= 1;
    }
    RH = hi;
    RL = lo;
  }

  // (RH, RL) = a·b mod p. The 128-bit product is summed from 16-bit pieces (each partial
  // product < 2^32, each column < 2^34), then folded with 2^64 ≡ 2^32 - 1 and 2^96 ≡ -1.
  function mul(ah, al, bh, bl) {
    const a0 = al & 0xffff, a1 = al >>> 16, a2 = ah & 0xffff, a3 = ah >>> 16;
    const b0 = bl & 0xffff, b1 = bl >>> 16, b2 = bh & 0xffff, b3 = bh >>> 16;
    const w0 = a0 * b0 + (a0 * b1 + a1 * b0) * 65536; // bits 0..   of the product
    const w1 = a0 * b2 + a1 * b1 + a2 * b0 + (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) * 65536; // ·2^32
    const w2 = a1 * b3 + a2 * b2 + a3 * b1 + (a2 * b3 + a3 * b2) * 65536; // ·2^64
    const w3 = a3 * b3; // ·2^96
    reduce(w1 + w2, w0 - w2 - w3);
  }

  // (RH, RL) = a² mod p: as mul, with the symmetric partial products counted once.
  function sqr(ah, al) {
    const a0 = al & 0xffff, a1 = al >>> 16, a2 = ah & 0xffff, a3 = ah >>> 16;
    const w0 = a0 * a0 + 2 * a0 * a1 * 65536;
    const w1 = 2 * a0 * a2 + a1 * a1 + 2 * (a0 * a3 + a1 * a2) * 65536;
    const w2 = 2 * a1 * a3 + a2 * a2 + 2 * a2 * a3 * 65536;
    const w3 = a3 * a3;
    reduce(w1 + w2, w0 - w2 - w3);
  }

  function fromBig(x) {
    const v = ((x % P) + P) % P;
    return [Number(v >> 32n), Number(v & 0xffffffffn)];
  }

  function toBig(hi, lo) {
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  // a + b, a·b and a² mod p on BigInts (or decimal strings) through the code above: for tests.
  function fieldAdd(a, b) {
    const [ah, al] = fromBig(BigInt(a)), [bh, bl] = fromBig(BigInt(b));
    reduce(ah + bh, al + bl);
    return toBig(RH, RL);
  }

  function fieldMul(a, b) {
    const [ah, al] = fromBig(BigInt(a)), [bh, bl] = fromBig(BigInt(b));
    mul(ah, al, bh, bl);
    return toBig(RH, RL);
  }

  function fieldSqr(a) {
    const [ah, al] = fromBig(BigInt(a));
    sqr(ah, al);
    return toBig(RH, RL);
  }

  // ------------------------------------------------------------------------------------------
  // 2. Rescue-Prime Rp64_256 (winterfell 0.13.1): 12 elements, capacity 0..4, rate 4..12,
  //    digest 4..8; 7 rounds of x^7, MDS, +ARK1, x^(1/7), MDS, +ARK2.
  // ------------------------------------------------------------------------------------------
  const WIDTH = 12;
  const ROUNDS = 7;
  const INV_ALPHA = 10540996611094048183n; // x -> x^INV_ALPHA undoes x -> x^7
  if ((7n * INV_ALPHA) % (P - 1n) !== 1n) throw new Error("INV_ALPHA is not the inverse of 7");
  const INV_ALPHA_BITS = INV_ALPHA.toString(2).slice(1).split("").map(Number); // after the leading 1

  // The MDS matrix is circulant: row i is this first row rotated right by i.
  const MDS_FIRST_ROW = [7, 23, 8, 26, 13, 10, 9, 7, 6, 22, 21, 8];
  const MDS = new Float64Array(WIDTH * WIDTH);
  for (let i = 0; i < WIDTH; i++) {
    for (let j = 0; j < WIDTH; j++) MDS[i * WIDTH + j] = MDS_FIRST_ROW[(j - i + WIDTH) % WIDTH];
  }

  const fromDecimal = (text) => fromBig(BigInt(text));

  const ARK1 = [
    ["13917550007135091859", "16002276252647722320", "4729924423368391595", "10059693067827680263",
     "9804807372516189948", "15666751576116384237", "10150587679474953119", "13627942357577414247",
     "2323786301545403792", "615170742765998613", "8870655212817778103", "10534167191270683080"],
    ["14572151513649018290", "9445470642301863087", "6565801926598404534", "12667566692985038975",
     "7193782419267459720", "11874811971940314298", "17906868010477466257", "1237247437760523561",
     "6829882458376718831", "2140011966759485221", "1624379354686052121", "50954653459374206"],
    ["16288075653722020941", "13294924199301620952", "13370596140726871456", "611533288599636281",
     "12865221627554828747", "12269498015480242943", "8230863118714645896", "13466591048726906480",
     "10176988631229240256", "14951460136371189405", "5882405912332577353", "18125144098115032453"],
    ["6076976409066920174", "7466617867456719866", "5509452692963105675", "14692460717212261752",
     "12980373618703329746", "1361187191725412610", "6093955025012408881", "5110883082899748359",
     "8578179704817414083", "9311749071195681469", "16965242536774914613", "5747454353875601040"],
    ["13684212076160345083", "19445754899749561", "16618768069125744845", "278225951958825090",
     "4997246680116830377", "782614868534172852", "16423767594935000044", "9990984633405879434",
     "16757120847103156641", "2103861168279461168", "16018697163142305052", "6479823382130993799"],
    ["13957683526597936825", "9702819874074407511", "18357323897135139931", "3029452444431245019",
     "1809322684009991117", "12459356450895788575", "11985094908667810946", "12868806590346066108",
     "7872185587893926881", "10694372443883124306", "8644995046789277522", "1422920069067375692"],
    ["17619517835351328008", "6173683530634627901", "15061027706054897896", "4503753322633415655",
     "11538516425871008333", "12777459872202073891", "17842814708228807409", "13441695826912633916",
     "5950710620243434509", "17040450522225825296", "8787650312632423701", "7431110942091427450"],
  ].map((row) => row.map(fromDecimal));
  const ARK2 = [
    ["7989257206380839449", "8639509123020237648", "6488561830509603695", "5519169995467998761",
     "2972173318556248829", "14899875358187389787", "14160104549881494022", "5969738169680657501",
     "5116050734813646528", "12120002089437618419", "17404470791907152876", "2718166276419445724"],
    ["2485377440770793394", "14358936485713564605", "3327012975585973824", "6001912612374303716",
     "17419159457659073951", "11810720562576658327", "14802512641816370470", "751963320628219432",
     "9410455736958787393", "16405548341306967018", "6867376949398252373", "13982182448213113532"],
    ["10436926105997283389", "13237521312283579132", "668335841375552722", "2385521647573044240",
     "3874694023045931809", "12952434030222726182", "1972984540857058687", "14000313505684510403",
     "976377933822676506", "8407002393718726702", "338785660775650958", "4208211193539481671"],
    ["2284392243703840734", "4500504737691218932", "3976085877224857941", "2603294837319327956",
     "5760259105023371034", "2911579958858769248", "18415938932239013434", "7063156700464743997",
     "16626114991069403630", "163485390956217960", "11596043559919659130", "2976841507452846995"],
    ["15090073748392700862", "3496786927732034743", "8646735362535504000", "2460088694130347125",
     "3944675034557577794", "14781700518249159275", "2857749437648203959", "8505429584078195973",
     "18008150643764164736", "720176627102578275", "7038653538629322181", "8849746187975356582"],
    ["17427790390280348710", "1159544160012040055", "17946663256456930598", "6338793524502945410",
     "17715539080731926288", "4208940652334891422", "12386490721239135719", "10010817080957769535",
     "5566101162185411405", "12520146553271266365", "4972547404153988943", "5597076522138709717"],
    ["18338863478027005376", "115128380230345639", "4427489889653730058", "10890727269603281956",
     "7094492770210294530", "7345573238864544283", "6834103517673002336", "14002814950696095900",
     "15939230865809555943", "12717309295554119359", "4130723396860574906", "7706153020203677238"],
  ].map((row) => row.map(fromDecimal));
  const splitConstants = (rows) => rows.map((row) => [
    Float64Array.from(row, (e) => e[0]),
    Float64Array.from(row, (e) => e[1]),
  ]);
  const ARK1_HL = splitConstants(ARK1);
  const ARK2_HL = splitConstants(ARK2);

  const sumH = new Float64Array(WIDTH);
  const sumL = new Float64Array(WIDTH);

  // state = MDS · state + constants. The matrix entries are below 32, so the row sums of each
  // half stay below 2^41 and are reduced once.
  function mdsAdd(H, L, cH, cL) {
    for (let i = 0; i < WIDTH; i++) {
      let sh = cH[i];
      let sl = cL[i];
      for (let j = 0; j < WIDTH; j++) {
        const m = MDS[i * WIDTH + j];
        sh += m * H[j];
        sl += m * L[j];
      }
      sumH[i] = sh;
      sumL[i] = sl;
    }
    for (let i = 0; i < WIDTH; i++) {
      reduce(sumH[i], sumL[i]);
      H[i] = RH;
      L[i] = RL;
    }
  }

  function pow7(H, L) {
    for (let i = 0; i < WIDTH; i++) {
      const h = H[i], l = L[i];
      sqr(h, l);
      const h2 = RH, l2 = RL;
      sqr(h2, l2);
      const h4 = RH, l4 = RL;
      mul(h2, l2, h, l);
      mul(h4, l4, RH, RL);
      H[i] = RH;
      L[i] = RL;
    }
  }

  function powInvAlpha(H, L) {
    for (let i = 0; i < WIDTH; i++) {
      const h = H[i], l = L[i];
      let rh = h, rl = l; // square-and-multiply from the exponent's leading 1
      for (const bit of INV_ALPHA_BITS) {
        sqr(rh, rl);
        rh = RH;
        rl = RL;
        if (bit) {
          mul(rh, rl, h, l);
          rh = RH;
          rl = RL;
        }
      }
      H[i] = rh;
      L[i] = rl;
    }
  }

  // The permutation, in place on a state held as two Float64Arrays of halves.
  function permuteHL(H, L) {
    for (let r = 0; r < ROUNDS; r++) {
      pow7(H, L);
      mdsAdd(H, L, ARK1_HL[r][0], ARK1_HL[r][1]);
      powInvAlpha(H, L);
      mdsAdd(H, L, ARK2_HL[r][0], ARK2_HL[r][1]);
    }
  }

  // The permutation on 12 elements given as BigInt (or decimal strings); returns BigInts.
  function permute(state) {
    const H = new Float64Array(WIDTH), L = new Float64Array(WIDTH);
    state.forEach((x, i) => { [H[i], L[i]] = fromBig(BigInt(x)); });
    permuteHL(H, L);
    return Array.from(H, (h, i) => toBig(h, L[i]));
  }

  // ------------------------------------------------------------------------------------------
  // 3. stark-por's hashes (circuits/solvency/src/hash.rs). Each starts from capacity
  //    [tag, 0, 0, 0] and absorbs by overwriting the rate. A digest is four elements; as bytes,
  //    each element is 8 bytes little-endian (32 bytes, canonical: every element < p).
  // ------------------------------------------------------------------------------------------
  const tag = (text) => [ // the 8 ASCII bytes read big-endian
    ((text.charCodeAt(0) << 24) | (text.charCodeAt(1) << 16) | (text.charCodeAt(2) << 8) | text.charCodeAt(3)) >>> 0,
    ((text.charCodeAt(4) << 24) | (text.charCodeAt(5) << 16) | (text.charCodeAt(6) << 8) | text.charCodeAt(7)) >>> 0,
  ];
  const LEAF_TAG = tag("stpr/lf\x01");
  const LEAF_TAG_2 = tag("stpr/lf\x02"); // the leaf of statement version 2
  const NODE_TAG = tag("stpr/nd\x01");
  const ID_TAG = tag("stpr/id\x01");

  const u32le = (b, i) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;

  // The four elements of a 32-byte digest as [hi0, lo0, hi1, lo1, ...], or null if one is not < p.
  function digestElements(bytes) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return null;
    const out = [];
    for (let k = 0; k < 32; k += 8) {
      const lo = u32le(bytes, k), hi = u32le(bytes, k + 4);
      if (hi === 0xffffffff && lo !== 0) return null;
      out.push(hi, lo);
    }
    return out;
  }

  function digestBytes(H, L) { // state[4..8] as 32 bytes
    const out = new Uint8Array(32);
    for (let e = 0; e < 4; e++) {
      for (let k = 0; k < 4; k++) {
        out[8 * e + k] = (L[4 + e] >>> (8 * k)) & 0xff;
        out[8 * e + 4 + k] = (H[4 + e] >>> (8 * k)) & 0xff;
      }
    }
    return out;
  }

  function setDigest(H, L, at, elements) { // elements from digestElements
    for (let e = 0; e < 4; e++) {
      H[at + e] = elements[2 * e];
      L[at + e] = elements[2 * e + 1];
    }
  }

  function freshState(t) {
    const H = new Float64Array(WIDTH), L = new Float64Array(WIDTH);
    [H[0], L[0]] = t;
    return [H, L];
  }

  // Byte-string hash: append 0x01, pack 7 bytes per element (little-endian), absorb 8 elements
  // per permutation; the capacity holds the tag and the byte length.
  function hashBytes(t, data) {
    const message = new Uint8Array(data.length + 1);
    message.set(data);
    message[data.length] = 1;
    const [H, L] = freshState(t);
    [H[1], L[1]] = fromBig(BigInt(data.length));
    const count = Math.ceil(message.length / 7);
    for (let first = 0; first < count; first += 8) {
      for (let s = 0; s < 8; s++) {
        const e = first + s;
        const padded = new Uint8Array(8); // 7 message bytes, little-endian: below 2^56 < p
        if (e < count) padded.set(message.subarray(7 * e, 7 * e + 7));
        const lo = u32le(padded, 0), hi = u32le(padded, 4);
        H[4 + s] = hi;
        L[4 + s] = lo;
      }
      permuteHL(H, L);
    }
    return digestBytes(H, L);
  }

  const utf8 = (text) => new TextEncoder().encode(text);

  // H_id(salt || user_id): the user's identity as their leaf holds it.
  function idCommitment(salt, userId) {
    const id = utf8(userId);
    const data = new Uint8Array(salt.length + id.length);
    data.set(salt);
    data.set(id, salt.length);
    return hashBytes(ID_TAG, data);
  }

  // Version 2 encodes a balance in two elements: x0 = amount mod 2^62 and
  // x1 = tag + 2^13·(amount >> 62), tag = 2·asset + kind (0 equity, 1 debt: version 3 only);
  // both below 2^63.
  const LOW_BITS = 62n, TAG_BITS = 13n;
  const MAX_ASSETS_2 = (1n << (TAG_BITS - 1n)) - 1n;
  const AMOUNT_BOUND_2 = 1n << 112n;
  const EQUITY = 0n, DEBT = 1n;
  function entryElements2(asset, amount, kind = EQUITY) {
    const a = BigInt(asset), v = BigInt(amount), k = BigInt(kind);
    if (a < 1n || a > MAX_ASSETS_2 || v < 0n || v >= AMOUNT_BOUND_2 || (k !== EQUITY && k !== DEBT)) {
      throw new RangeError("not a version-2 entry");
    }
    return [v & ((1n << LOW_BITS) - 1n), 2n * a + k + ((v >> LOW_BITS) << TAG_BITS)];
  }

  // The leaf over an id commitment and [asset index, amount] entries (BigInt, integers or
  // decimal strings; version 3: [asset index, amount, kind]) sorted by asset (and kind), in a
  // round of statement `version`: version 1 absorbs each entry's two numbers as they are,
  // versions 2 and 3 their two elements (entryElements2). The first permutation absorbs the id
  // commitment and two entries, each later one four entries; unused slots are (0, 0).
  function leafOf(idc, entries, version = 1) {
    const wide = Number(version) >= 2;
    const slots = [];
    for (const [index, amount, kind = EQUITY] of entries) {
      const pair = wide ? entryElements2(index, amount, kind) : [BigInt(index), BigInt(amount)];
      slots.push(fromBig(pair[0]), fromBig(pair[1]));
    }
    const blocks = entries.length <= 2 ? 1 : 1 + Math.ceil((entries.length - 2) / 4);
    while (slots.length < 4 + (blocks - 1) * 8) slots.push([0, 0]);
    const [H, L] = freshState(wide ? LEAF_TAG_2 : LEAF_TAG);
    setDigest(H, L, 4, digestElements(idc));
    for (let s = 0; s < 4; s++) [H[8 + s], L[8 + s]] = slots[s];
    permuteHL(H, L);
    for (let first = 4; first < slots.length; first += 8) {
      for (let s = 0; s < 8; s++) [H[4 + s], L[4 + s]] = slots[first + s];
      permuteHL(H, L);
    }
    return digestBytes(H, L);
  }

  // An internal node over two canonical child digests.
  function node(left, right) {
    const [H, L] = freshState(NODE_TAG);
    setDigest(H, L, 4, digestElements(left));
    setDigest(H, L, 8, digestElements(right));
    permuteHL(H, L);
    return digestBytes(H, L);
  }

  // From the leaf up: at level k the running node is the left child iff bit k of the index is 0.
  function walk(leafDigest, leafIndex, path) {
    let current = leafDigest;
    let index = BigInt(leafIndex);
    for (const sibling of path) {
      current = (index & 1n) === 0n ? node(current, sibling) : node(sibling, current);
      index >>= 1n;
    }
    return current;
  }

  // ------------------------------------------------------------------------------------------
  // 4. SHA-256 (FIPS 180-4) and the statement fingerprint. The constants are the first 32 bits
  //    of the fractional parts of the square roots (initial hash) and cube roots (round
  //    constants) of the first primes, computed exactly with integer roots.
  // ------------------------------------------------------------------------------------------
  function iroot(n, k) { // floor(n^(1/k)) for BigInt n > 0: Newton's method from above
    let x = 1n << BigInt(Math.ceil(n.toString(2).length / Number(k)));
    for (;;) {
      const y = ((k - 1n) * x + n / x ** (k - 1n)) / k;
      if (y >= x) return x;
      x = y;
    }
  }
  const PRIMES = [];
  for (let c = 2; PRIMES.length < 64; c++) if (PRIMES.every((q) => c % q)) PRIMES.push(c);
  const fraction32 = (q, k) => Number(iroot(BigInt(q) << (32n * k), k) & 0xffffffffn);
  const SHA_K = Uint32Array.from(PRIMES, (q) => fraction32(q, 3n));
  const SHA_H0 = Uint32Array.from(PRIMES.slice(0, 8), (q) => fraction32(q, 2n));

  function sha256(data) {
    const blocks = Math.ceil((data.length + 9) / 64);
    const m = new Uint8Array(64 * blocks);
    m.set(data);
    m[data.length] = 0x80;
    const bits = data.length * 8;
    const view = new DataView(m.buffer);
    view.setUint32(m.length - 8, Math.floor(bits / TWO32));
    view.setUint32(m.length - 4, bits >>> 0);
    const h = Uint32Array.from(SHA_H0);
    const w = new Uint32Array(64);
    const rotr = (x, n) => (x >>> n) | (x << (32 - n));
    for (let b = 0; b < blocks; b++) {
      for (let t = 0; t < 16; t++) w[t] = view.getUint32(64 * b + 4 * t);
      for (let t = 16; t < 64; t++) {
        const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
        const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
      }
      let [a, bb, c, d, e, f, g, hh] = h;
      for (let t = 0; t < 64; t++) {
        const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + SHA_K[t] + w[t];
        const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
        hh = g; g = f; f = e; e = (d + t1) >>> 0;
        d = c; c = bb; bb = a; a = (t1 + t2) >>> 0;
      }
      [a, bb, c, d, e, f, g, hh].forEach((x, i) => { h[i] = h[i] + x; });
    }
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    h.forEach((x, i) => outView.setUint32(4 * i, x));
    return out;
  }

  const STATEMENT_VERSION = 1;

  // The bytes the fingerprint hashes (as Summary::fingerprint_as): the statement version, then
  // every field a round publishes, integers little-endian, strings length-prefixed, totals as
  // minimal little-endian unsigned bytes. Version 3 then adds u8(unit_exp) and per asset its
  // debt total (u16 length, minimal bytes), whether it is priced (u8) and, if so, its price and
  // haircut as canonical ASCII (u8 length each).
  function statementBytes(s) {
    const out = [];
    const int = (value, width) => {
      let v = BigInt(value);
      for (let k = 0; k < width; k++) { out.push(Number(v & 0xffn)); v >>= 8n; }
    };
    const bytes = (b) => { for (const x of b) out.push(x); };
    bytes(utf8("stark-por/statement\0"));
    int(s.statement_version === undefined ? STATEMENT_VERSION : s.statement_version, 2);
    const round = utf8(s.round_id);
    int(round.length, 2);
    bytes(round);
    int(s.range_bits, 1);
    int(s.num_leaves, 8);
    bytes(s.root);
    int(s.assets.length, 4);
    for (const a of s.assets) {
      int(a.name.length, 1);
      bytes(utf8(a.name));
      int(a.decimals, 1);
      const total = minimalBytes(a.total_units);
      int(total.length, 2);
      bytes(total);
    }
    if (Number(s.statement_version) >= MARGIN_VERSION) {
      int(s.unit_exp, 1);
      for (const a of s.assets) {
        const debt = minimalBytes(a.debt_units);
        int(debt.length, 2);
        bytes(debt);
        int(a.price === null ? 0 : 1, 1);
        if (a.price !== null) {
          for (const text of [a.price, a.haircut]) {
            int(text.length, 1);
            bytes(utf8(text));
          }
        }
      }
    }
    return Uint8Array.from(out);
  }

  function minimalBytes(n) {
    const out = [];
    for (let t = BigInt(n); t > 0n; t >>= 8n) out.push(Number(t & 0xffn));
    return out;
  }

  // Version 3's coefficients of one smallest unit of an asset with `decimals` decimals, in units
  // of 10^-unitExp USD, from its price (USD per whole token) and haircut, canonical decimal text:
  // c = floor(price·(1 − haircut)·10^(unitExp − decimals)) (collateral, rounded down) and
  // d = ceil(price·10^(unitExp − decimals)) (debt, rounded up). Exact, on BigInt.
  const MARGIN_VERSION = 3;
  const COEFFICIENT_BOUND = 1n << 91n;
  const CANONICAL = /^(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?$/;
  const MAX_DECIMAL_DIGITS = 38; // its digits read as one integer below 10^38
  const MAX_UNIT_EXP = 255;
  const decimalValue = (text) => { // "97000.5" -> [970005n, 1n]
    const [whole, frac = ""] = text.split(".");
    return [BigInt(whole + frac), BigInt(frac.length)];
  };
  function foldPrice(price, haircut, decimals, unitExp) {
    const [p, pDec] = decimalValue(price), [h, hDec] = decimalValue(haircut);
    const shift = BigInt(unitExp) - BigInt(decimals);
    const [num, den] = shift >= 0n ? [p * 10n ** shift, 10n ** pDec] : [p, 10n ** (pDec - shift)];
    const debt = (num + den - 1n) / den;
    const collateral = (num * (10n ** hDec - h)) / (den * 10n ** hDec);
    return [collateral, debt];
  }

  const fingerprint = (statement) => sha256(statementBytes(statement));

  // ------------------------------------------------------------------------------------------
  // 5. Strict JSON: objects become Maps (duplicate keys refused), numbers keep their literal
  //    text (JsonNumber), so an integer field is exactly an integer literal of any size.
  // ------------------------------------------------------------------------------------------
  class Rejected extends Error {
    constructor(reason, message) {
      super(`${reason}: ${message}`);
      this.reason = reason;
      this.detail = message;
    }
  }
  const malformed = (message) => new Rejected("malformed", message);

  class JsonNumber {
    constructor(text) { this.text = text; }
  }
  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
  const MAX_NESTING = 100;

  function parseJson(text) {
    let i = 0;
    const fail = (what) => { throw malformed(`not JSON (${what} at character ${i})`); };
    const space = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
    const literal = (word, value) => {
      if (text.startsWith(word, i)) { i += word.length; return value; }
      return fail("unexpected character");
    };
    function string() {
      i++; // the opening quote
      let out = "";
      for (;;) {
        if (i >= text.length) fail("unterminated string");
        const c = text[i++];
        if (c === '"') return out;
        if (c < " ") fail("control character in a string");
        if (c !== "\\") { out += c; continue; }
        const e = text[i++];
        if (e in ESCAPES) out += ESCAPES[e];
        else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) {
          out += String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
          i += 4;
        } else fail("bad escape");
      }
    }
    function value(depth) {
      if (depth > MAX_NESTING) fail("nested too deeply");
      space();
      const c = text[i];
      if (c === "{") {
        i++;
        const map = new Map();
        space();
        if (text[i] === "}") { i++; return map; }
        for (;;) {
          space();
          if (text[i] !== '"') fail("expected a key");
          const key = string();
          if (map.has(key)) fail(`duplicate key ${JSON.stringify(key)}`);
          space();
          if (text[i++] !== ":") fail("expected ':'");
          map.set(key, value(depth + 1));
          space();
          const next = text[i++];
          if (next === "}") return map;
          if (next !== ",") fail("expected ',' or '}'");
        }
      }
      if (c === "[") {
        i++;
        const list = [];
        space();
        if (text[i] === "]") { i++; return list; }
        for (;;) {
          list.push(value(depth + 1));
          space();
          const next = text[i++];
          if (next === "]") return list;
          if (next !== ",") fail("expected ',' or ']'");
        }
      }
      if (c === '"') return string();
      if (c === "t") return literal("true", true);
      if (c === "f") return literal("false", false);
      if (c === "n") return literal("null", null);
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) fail(i >= text.length ? "unexpected end" : "unexpected character");
      i += m[0].length;
      return new JsonNumber(m[0]);
    }
    const doc = value(0);
    space();
    if (i !== text.length) fail("extra data");
    return doc;
  }

  // An integer literal as a BigInt; null for anything else (1.0, 1e3, true, "1").
  const integer = (v) => (v instanceof JsonNumber && /^-?(?:0|[1-9][0-9]*)$/.test(v.text) ? BigInt(v.text) : null);

  // True unless the string holds a lone UTF-16 surrogate (not a Unicode text: it has no UTF-8).
  function wellFormed(s) {
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = s.charCodeAt(k + 1);
        if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
        k++;
      } else if (c >= 0xdc00 && c <= 0xdfff) return false;
    }
    return true;
  }

  const codePoints = (s) => { let n = 0; for (const _ of s) n++; return n; };

  // ------------------------------------------------------------------------------------------
  // 6. The inclusion proof, JSON versions 1, 2 and 3, and the check
  //   {"format": "stark-por/inclusion", "version": 1, 2 or 3, "round_id": str, "user_id": str,
  //    "salt": base64 (32 bytes),
  //    "entries": [{"asset": name, "index": 1-based asset index, "decimals": int,
  //                 "amount": exact decimal string}, ...]   (sorted by index, no zero amounts),
  //    "leaf_index": int, "num_leaves": int (a power of two),
  //    "leaf": base64 digest, "root": hex digest, "path": [base64 digest, ...] (leaf level first)}
  // The "leaf" and "root" a proof names only say where a broken proof breaks; acceptance rests
  // on the walk from the user's own data to the root of the round this page was made for. The
  // version is the statement version of the round: version 1 amounts are below 2^63, version 2
  // amounts below 2^112 with asset indices up to 4095; it says which leaf to hash. Version 3
  // (margin) is version 2 with a "kind" in each entry, "equity" or "debt", between "decimals"
  // and "amount"; entries are sorted by (index, kind), equity first.
  // ------------------------------------------------------------------------------------------
  const FORMAT = "stark-por/inclusion";
  const VERSIONS = [1n, 2n, 3n];
  const MAX_PROOF_CHARS = 1 << 20;
  const MAX_DEPTH = 40;
  const MAX_DECIMALS = 30n;
  const MAX_TEXT_BYTES = 256;
  const AMOUNT_BOUND = 1n << 63n;
  // per format version: [amount bound, largest asset index]
  const DOMAIN = { 1: [AMOUNT_BOUND, (1n << 32n) - 1n], 2: [AMOUNT_BOUND_2, MAX_ASSETS_2], 3: [AMOUNT_BOUND_2, MAX_ASSETS_2] };
  const KEYS = ["format", "version", "round_id", "user_id", "salt", "entries", "leaf_index", "num_leaves", "leaf", "root", "path"];
  const ENTRY_KEYS = ["asset", "index", "decimals", "amount"];
  const ENTRY_KEYS_3 = ["asset", "index", "decimals", "kind", "amount"];
  const KINDS = { equity: EQUITY, debt: DEBT };
  const AMOUNT = /^([0-9]{1,40})(?:\.([0-9]{1,30}))?$/;
  const ASSET_NAME = /^[!-+\--~]{1,32}$/; // printable ASCII without space or comma
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  // 32 bytes in canonical base64 (44 characters, one '=', unused bits zero), else null.
  function base64Digest(value) {
    if (typeof value !== "string" || !/^[A-Za-z0-9+/]{43}=$/.test(value)) return null;
    const out = new Uint8Array(33);
    let acc = 0, bits = 0, n = 0;
    for (const ch of value.slice(0, 43)) {
      acc = (acc << 6) | B64.indexOf(ch);
      bits += 6;
      if (bits >= 8) { bits -= 8; out[n++] = (acc >>> bits) & 0xff; }
      acc &= (1 << bits) - 1;
    }
    return acc === 0 ? out.subarray(0, 32) : null; // the 2 leftover bits must be zero
  }

  const hexBytes = (text) => Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
  const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const sameBytes = (a, b) => a.length === b.length && a.every((x, k) => x === b[k]);

  function hex32(value, what) {
    if (typeof value === "string" && /^[0-9a-fA-F]{64}$/.test(value)) return hexBytes(value);
    throw malformed(`${what} must be 64 hex digits`);
  }

  // Shortest exact decimal text of `units` smallest units with `decimals` decimals.
  function amountText(units, decimals) {
    const digits = units.toString().padStart(decimals + 1, "0");
    const whole = digits.slice(0, digits.length - decimals);
    const frac = digits.slice(digits.length - decimals).replace(/0+$/, "");
    return frac ? `${whole}.${frac}` : whole;
  }

  function entryOf(e, i, version) {
    const keys = version >= 3n ? ENTRY_KEYS_3 : ENTRY_KEYS;
    if (!(e instanceof Map) || e.size !== keys.length || !keys.every((k) => e.has(k))) {
      throw malformed(`entry ${i} must have exactly the fields ${JSON.stringify([...keys].sort())}`);
    }
    const kindName = version >= 3n ? e.get("kind") : "equity";
    if (typeof kindName !== "string" || !Object.hasOwn(KINDS, kindName)) throw malformed(`entry ${i}: kind must be "equity" or "debt"`);
    const asset = e.get("asset"), index = integer(e.get("index")), decimals = integer(e.get("decimals"));
    const amount = e.get("amount");
    if (typeof asset !== "string" || !ASSET_NAME.test(asset)) {
      throw malformed(`entry ${i}: asset name must be 1 to 32 printable ASCII characters`);
    }
    if (index === null || decimals === null || decimals < 0n || decimals > MAX_DECIMALS) {
      throw malformed(`entry ${i}: index and decimals (0 to ${MAX_DECIMALS}) must be integers`);
    }
    const m = typeof amount === "string" ? AMOUNT.exec(amount) : null;
    const dec = Number(decimals);
    if (m === null || (m[2] || "").length > dec) {
      throw malformed(`entry ${i}: amount must be a decimal string with at most ${dec} decimals`);
    }
    const units = BigInt(m[1]) * 10n ** decimals + BigInt((m[2] || "").padEnd(dec, "0") || "0");
    return { asset, index, decimals: dec, units, kind: KINDS[kindName] };
  }

  // Decodes and validates every field's type and encoding (never the hashes); throws Rejected.
  function decode(text) {
    if (typeof text !== "string") throw new TypeError("an inclusion proof is JSON text");
    if (text.length > MAX_PROOF_CHARS && codePoints(text) > MAX_PROOF_CHARS) {
      throw malformed(`longer than ${MAX_PROOF_CHARS} characters`);
    }
    const doc = parseJson(text);
    if (!(doc instanceof Map) || doc.get("format") !== FORMAT) throw malformed(`not a ${FORMAT} document`);
    const version = integer(doc.get("version"));
    if (version === null) throw malformed("version must be an integer");
    if (!VERSIONS.includes(version)) {
      throw new Rejected("unknown-version", `format version ${version} (this verifier reads versions 1 and 2)`);
    }
    if (doc.size !== KEYS.length || !KEYS.every((k) => doc.has(k))) {
      const missing = KEYS.filter((k) => !doc.has(k)), extra = [...doc.keys()].filter((k) => !KEYS.includes(k));
      throw malformed(`fields missing ${JSON.stringify(missing.sort())} / unexpected ${JSON.stringify(extra.sort())}`);
    }
    for (const key of ["round_id", "user_id"]) {
      if (typeof doc.get(key) !== "string") throw malformed(`${key} must be a string`);
      if (!wellFormed(doc.get(key))) throw malformed(`${key} is not valid Unicode`);
    }
    const leafIndex = integer(doc.get("leaf_index")), numLeaves = integer(doc.get("num_leaves"));
    if (leafIndex === null || numLeaves === null) throw malformed("leaf_index and num_leaves must be integers");
    const entries = doc.get("entries"), path = doc.get("path");
    if (!Array.isArray(entries) || !Array.isArray(path)) throw malformed("entries and path must be lists");
    if (path.length > MAX_DEPTH) throw malformed(`the path has ${path.length} siblings (at most ${MAX_DEPTH})`);
    const b64 = (value, what) => {
      const raw = base64Digest(value);
      if (raw === null) throw malformed(`${what} must be 32 bytes in base64`);
      return raw;
    };
    return {
      version,
      round_id: doc.get("round_id"),
      user_id: doc.get("user_id"),
      salt: b64(doc.get("salt"), "salt"),
      entries: entries.map((e, i) => entryOf(e, i, version)),
      leaf_index: leafIndex,
      num_leaves: numLeaves,
      leaf: b64(doc.get("leaf"), "leaf"),
      root: hex32(doc.get("root"), "root"),
      path: path.map((s, k) => b64(s, `path element ${k}`)),
    };
  }

  const isControl = (c) => c < "\x20" || (c >= "\x7f" && c < "\xa0"); // Unicode category Cc

  // Every field in its domain (what decoding alone cannot see).
  function checkFields(p) {
    const roundBytes = utf8(p.round_id).length;
    if (roundBytes < 1 || roundBytes > MAX_TEXT_BYTES || [...p.round_id].some(isControl)) {
      throw malformed(`round id must be 1 to ${MAX_TEXT_BYTES} bytes without control characters`);
    }
    const userBytes = utf8(p.user_id).length;
    if (userBytes < 1 || userBytes > MAX_TEXT_BYTES) throw malformed(`user id must be 1 to ${MAX_TEXT_BYTES} bytes`);
    const [bound, maxIndex] = DOMAIN[p.version];
    p.entries.forEach((e, i) => {
      if (e.index < 1n || e.index > maxIndex) {
        throw malformed(`entry ${i}: asset index ${e.index} is not in [1, ${maxIndex}] (format version ${p.version})`);
      }
      if (e.kind === DEBT && p.version < 3n) {
        throw malformed(`entry ${i}: a debt in a proof of format version ${p.version} (debts are of version 3)`);
      }
      const prev = p.entries[i - 1];
      if (i > 0 && (prev.index > e.index || (prev.index === e.index && prev.kind >= e.kind))) {
        throw malformed(`entry ${i}: entries must be sorted by ${p.version < 3n ? "asset index" : "asset index, equity before debt,"} without repeats`);
      }
      if (e.units < 1n || e.units >= bound) {
        throw malformed(`entry ${i}: amount is not in [1, 2^${bound.toString(2).length - 1}) smallest units (format version ${p.version})`);
      }
    });
    const n = p.num_leaves;
    if (n < 2n || (n & (n - 1n)) !== 0n || n > 1n << BigInt(MAX_DEPTH)) {
      throw malformed(`the tree size ${n} is not a power of two from 2 to 2^${MAX_DEPTH}`);
    }
    if (p.leaf_index < 0n || p.leaf_index >= n) throw malformed(`leaf index ${p.leaf_index} is outside a tree of ${n} leaves`);
    const digests = [["the leaf", p.leaf], ["the root", p.root], ...p.path.map((s, k) => [`path element ${k}`, s])];
    for (const [what, d] of digests) if (digestElements(d) === null) throw malformed(`${what} is not a canonical digest`);
  }

  // Checks a decoded proof for the user `userId` against `anchor` (a checked round summary:
  // round_id, num_leaves, root bytes, assets [{name, decimals}], fingerprint hex) and, when
  // given, the fingerprint the exchange published (hex). Returns the user's entries; throws
  // Rejected naming the first check that failed, in the other verifiers' order.
  function check(p, userId, anchor, published = null) {
    if (!VERSIONS.includes(p.version)) throw new Rejected("unknown-version", `format version ${p.version}`);
    checkFields(p);
    if (p.user_id !== userId) {
      throw new Rejected("wrong-user", `the inclusion proof is for user ${JSON.stringify(p.user_id)}, not ${JSON.stringify(userId)}`);
    }
    if (published !== null && published !== anchor.fingerprint) {
      throw new Rejected("wrong-statement", `the statement's fingerprint is ${anchor.fingerprint}, not the ${published} you were given`);
    }
    if (p.version !== BigInt(anchor.statement_version)) {
      throw new Rejected("version-mismatch", `the inclusion proof is of version ${p.version} (for rounds of statement version ${p.version}), the round's statement is of version ${anchor.statement_version}`);
    }
    if (p.round_id !== anchor.round_id) {
      throw new Rejected("wrong-round", `the inclusion proof is for round ${JSON.stringify(p.round_id)}, not ${JSON.stringify(anchor.round_id)}`);
    }
    const n = anchor.num_leaves;
    if (p.num_leaves !== n) {
      throw new Rejected("path-mismatch", `the proof places the leaf in a tree of ${p.num_leaves} leaves, the round's tree has ${n}`);
    }
    const depth = n.toString(2).length - 1;
    if (p.path.length !== depth) {
      throw new Rejected("path-mismatch", `a tree of ${n} leaves needs ${depth} siblings, the path has ${p.path.length}`);
    }
    for (const e of p.entries) {
      if (e.index > BigInt(anchor.assets.length)) {
        throw new Rejected("asset-mismatch", `the round lists ${anchor.assets.length} assets, the proof names asset ${e.index}`);
      }
      const a = anchor.assets[Number(e.index) - 1];
      if (a.name !== e.asset || a.decimals !== e.decimals) {
        throw new Rejected("asset-mismatch", `asset ${e.index} of the round is ${a.name} with ${a.decimals} decimals, the proof calls it ${e.asset} with ${e.decimals}`);
      }
    }
    const recomputed = leafOf(idCommitment(p.salt, p.user_id), p.entries.map((e) => [e.index, e.units, e.kind]), p.version);
    if (!sameBytes(recomputed, p.leaf)) {
      throw new Rejected("leaf-mismatch", "the user's id, salt and balances do not hash to the leaf the proof names");
    }
    const reached = walk(recomputed, p.leaf_index, p.path);
    if (!sameBytes(reached, p.root)) {
      throw new Rejected("path-mismatch", `walking the path from leaf ${p.leaf_index} does not reach the root the proof names`);
    }
    if (!sameBytes(reached, anchor.root)) {
      throw new Rejected("root-mismatch", `the proof leads to root ${toHex(reached)}, not to ${toHex(anchor.root)}`);
    }
    if (p.version < BigInt(MARGIN_VERSION)) {
      return { entries: p.entries.map((e) => ({ asset: e.asset, decimals: e.decimals, amount: amountText(e.units, e.decimals) })) };
    }
    const entries = p.entries.map((e) => ({
      asset: e.asset, decimals: e.decimals, kind: e.kind === DEBT ? "debt" : "equity", amount: amountText(e.units, e.decimals),
    }));
    const position = collateralCheck(p, anchor);
    if (!position.covered) {
      throw new Rejected("uncovered", `the proof shows debts worth ${position.debt_usd} USD against collateral worth ${position.collateral_usd} USD after haircuts: the round's proof cannot hold such a user`);
    }
    return { entries, position };
  }

  // Version 3: the collateral check the round's proof enforced for this user, from the
  // coefficients of the anchor's prices: collateral_value = Σ c·equity, debt_value = Σ d·debt
  // (BigInt, units of 10^-unit_exp USD; the *_usd texts exact in USD).
  function collateralCheck(p, anchor) {
    let collateral = 0n, debt = 0n;
    for (const e of p.entries) {
      const [c, d] = anchor.assets[Number(e.index) - 1].coefficients;
      if (e.kind === DEBT) debt += d * e.units;
      else collateral += c * e.units;
    }
    return {
      collateral_value: collateral, debt_value: debt, covered: collateral >= debt, has_debt: p.entries.some((e) => e.kind === DEBT),
      collateral_usd: amountText(collateral, anchor.unit_exp), debt_usd: amountText(debt, anchor.unit_exp),
    };
  }

  const MIN_RANGE_BITS = 32n, MAX_RANGE_BITS = 63n;
  const MAX_ASSETS = 65536;
  // per statement version: [[range bounds], most assets]; version 2 proves amounts up to 2^112
  const STATEMENT_DOMAIN = { 1: [[MIN_RANGE_BITS, MAX_RANGE_BITS], MAX_ASSETS], 2: [[32n, 112n], Number(MAX_ASSETS_2)],
    3: [[32n, 112n], Number(MAX_ASSETS_2)] };
  const MAX_TOTAL_DIGITS = 4096;
  const EXACT = /^([0-9]+)(?:\.([0-9]+))?$/;

  // Is the display text `text` exactly `units` smallest units with `decimals` decimals?
  function sameAmount(text, units, decimals) {
    const m = typeof text === "string" ? EXACT.exec(text) : null;
    if (m === null) return false;
    const frac = (m[2] || "").replace(/0+$/, "");
    if (frac.length > decimals) return false;
    return BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0") === units;
  }

  // Version 3's fields of one asset of a summary: its debt total ("debt_units"; "debt" and
  // "net_units" checked when given) and its price and haircut (both strings, or both null or
  // absent: no price).
  function marginFields(a, k, name, decimals, total, bad) {
    const units = a.get("debt_units");
    if (typeof units !== "string" || units.length > MAX_TOTAL_DIGITS || !/^(?:0|[1-9][0-9]*)$/.test(units)) {
      bad(`asset ${k} (${name}): debt_units must be at most ${MAX_TOTAL_DIGITS} decimal digits, no leading zero (statement version 3)`);
    }
    const debt = BigInt(units);
    if (a.has("debt") && !sameAmount(a.get("debt"), debt, decimals)) {
      bad(`asset ${k} (${name}): debt ${JSON.stringify(a.get("debt"))} is not debt_units ${units} with ${decimals} decimals`);
    }
    if (a.has("net_units")) {
      const net = a.get("net_units");
      if (typeof net !== "string" || !/^-?(?:0|[1-9][0-9]*)$/.test(net) || BigInt(net) !== total - debt) {
        bad(`asset ${k} (${name}): net_units ${JSON.stringify(net)} is not total_units - debt_units`);
      }
    }
    const price = a.has("price") ? a.get("price") : null, haircut = a.has("haircut") ? a.get("haircut") : null;
    if (price === null && haircut === null) return { debt_units: debt, price: null, haircut: null };
    if (typeof price !== "string" || typeof haircut !== "string") {
      bad(`asset ${k} (${name}): price and haircut must both be decimal strings, or both null (no price)`);
    }
    return { debt_units: debt, price, haircut };
  }

  // The domain of version 3's fields, and each asset's coefficients [c, d] (BigInt) folded from
  // its price and haircut (an asset without a price: [0, 1], and nobody may owe it).
  function checkMargin(assets, unitExp, bad) {
    if (unitExp < 0n || unitExp > BigInt(MAX_UNIT_EXP)) bad(`value_unit_exp ${unitExp} is not in 0..${MAX_UNIT_EXP}`);
    for (const a of assets) {
      if (a.price === null) {
        if (a.debt_units !== 0n) bad(`${a.name} has no price but a debt total of ${a.debt_units}: no one may owe an asset without a price`);
        a.coefficients = [0n, 1n];
        continue;
      }
      for (const [what, text] of [["price", a.price], ["haircut", a.haircut]]) {
        if (!CANONICAL.test(text) || text.replace(".", "").length > MAX_DECIMAL_DIGITS) {
          bad(`${a.name}: ${what} ${JSON.stringify(text)} is not a canonical decimal (digits, an optional fraction without trailing zeros, no sign or exponent, at most ${MAX_DECIMAL_DIGITS} digits)`);
        }
      }
      const [p] = decimalValue(a.price), [h, hDec] = decimalValue(a.haircut);
      if (p === 0n) bad(`${a.name}: price ${a.price} is not positive`);
      if (h > 10n ** hDec) bad(`${a.name}: haircut ${a.haircut} is above 1`);
      a.coefficients = foldPrice(a.price, a.haircut, a.decimals, unitExp);
      if (a.coefficients[1] >= COEFFICIENT_BOUND) {
        bad(`${a.name}: at price ${a.price}, one smallest unit is worth ${a.coefficients[1]} units of 10^-${unitExp} USD, not below 2^91`);
      }
    }
  }

  // The round summary (Statement.summary() of a verified round, as the page embeds it or as
  // ROUND.stpor.json publishes it), decoded and checked like pyverify's check_summary: every
  // field in its domain and its "fingerprint" field (if any) the one its fields give. Returns
  // the anchor `check` takes; throws Rejected ("malformed", or "unknown-version").
  function loadSummary(text) {
    const bad = (what) => { throw malformed(`summary: ${what}`); };
    let doc;
    try {
      doc = parseJson(text);
    } catch (e) {
      if (e instanceof Rejected) bad(e.detail);
      throw e;
    }
    if (!(doc instanceof Map)) bad("not a JSON object");
    const version = doc.has("statement_version") ? integer(doc.get("statement_version")) : BigInt(STATEMENT_VERSION);
    if (version === null) bad("statement_version must be an integer");
    if (version !== 1n && version !== 2n && version !== 3n) {
      throw new Rejected("unknown-version", `statement version ${version} (this verifier reads versions 1, 2 and 3)`);
    }
    const margin = version >= BigInt(MARGIN_VERSION);
    const unitExp = margin ? integer(doc.get("value_unit_exp")) : null;
    if (margin && unitExp === null) bad("value_unit_exp must be an integer (statement version 3)");
    const [[minBits, maxBits], maxAssets] = STATEMENT_DOMAIN[version];
    const missing = ["assets", "num_leaves", "range_bits", "root", "round_id"].filter((k) => !doc.has(k));
    if (missing.length) bad(`fields missing ${JSON.stringify(missing)}`);
    const roundId = doc.get("round_id"), rangeBits = integer(doc.get("range_bits")), n = integer(doc.get("num_leaves"));
    if (typeof roundId !== "string" || !wellFormed(roundId)) bad("round_id must be a string");
    if (rangeBits === null || n === null || rangeBits < 0n || n < 0n) bad("range_bits and num_leaves must be non-negative integers");
    if (!Array.isArray(doc.get("assets"))) bad("assets must be a list");
    const assets = doc.get("assets").map((a, k) => {
      if (!(a instanceof Map) || !["asset", "decimals", "total_units"].every((f) => a.has(f))) {
        bad(`asset ${k} must have the fields asset, decimals, total_units`);
      }
      const name = a.get("asset"), decimals = integer(a.get("decimals")), units = a.get("total_units");
      if (typeof name !== "string" || decimals === null || decimals < 0n || decimals > 255n) {
        bad(`asset ${k} needs a name and decimals (an integer)`);
      }
      if (typeof units !== "string" || units.length > MAX_TOTAL_DIGITS || !/^(?:0|[1-9][0-9]*)$/.test(units)) {
        bad(`asset ${k} (${name}): total_units must be at most ${MAX_TOTAL_DIGITS} decimal digits, no leading zero`);
      }
      const total = BigInt(units);
      if (a.has("total") && !sameAmount(a.get("total"), total, Number(decimals))) {
        bad(`asset ${k} (${name}): total ${JSON.stringify(a.get("total"))} is not total_units ${units} with ${decimals} decimals`);
      }
      const asset = { name, decimals: Number(decimals), total_units: total };
      return margin ? { ...asset, ...marginFields(a, k, name, Number(decimals), total, bad) } : asset;
    });
    const stated = doc.has("fingerprint") ? doc.get("fingerprint") : null;
    if (stated !== null && !(typeof stated === "string" && /^[0-9a-f]{64}$/.test(stated))) {
      bad("fingerprint must be 64 lowercase hex digits");
    }
    const root = doc.get("root");
    if (typeof root !== "string" || !/^[0-9a-fA-F]{64}$/.test(root)) bad("root must be 64 hex digits");
    // check_summary
    const roundBytes = utf8(roundId).length;
    if (roundBytes < 1 || roundBytes > MAX_TEXT_BYTES || [...roundId].some(isControl)) {
      bad(`round id must be 1 to ${MAX_TEXT_BYTES} bytes without control characters`);
    }
    if (rangeBits < minBits || rangeBits > maxBits) {
      bad(`range bound of ${rangeBits} bits is not in ${minBits}..${maxBits}`);
    }
    if (n < 2n || (n & (n - 1n)) !== 0n || n > 1n << BigInt(MAX_DEPTH)) {
      bad(`the tree size ${n} is not a power of two from 2 to 2^${MAX_DEPTH}`);
    }
    if (digestElements(hexBytes(root)) === null) bad("the root is not a canonical digest");
    if (assets.length < 1 || assets.length > maxAssets) {
      bad(`a statement of version ${version} lists 1 to ${maxAssets} assets with one total each`);
    }
    const names = new Set();
    for (const a of assets) {
      if (!ASSET_NAME.test(a.name) || a.decimals > Number(MAX_DECIMALS)) {
        bad(`asset ${JSON.stringify(a.name)} must have a name of 1 to 32 printable ASCII characters (no space or comma) and 0 to ${MAX_DECIMALS} decimals`);
      }
      if (names.has(a.name)) bad(`asset ${a.name} is listed twice`);
      names.add(a.name);
    }
    if (margin) checkMargin(assets, unitExp, bad);
    const statement = { statement_version: Number(version), round_id: roundId, range_bits: rangeBits, num_leaves: n, root: hexBytes(root), assets };
    if (margin) statement.unit_exp = Number(unitExp);
    const fp = toHex(fingerprint(statement));
    if (stated !== null && stated !== fp) bad(`its fingerprint field says ${stated}, its fields give ${fp} (a field was changed)`);
    const security = doc.get("security_bits");
    return { ...statement, fingerprint: fp, security_bits: security instanceof JsonNumber ? security.text : null };
  }

  // Decodes and checks the proof `text` of user `userId` against a checked summary (anchor)
  // and, if given, the published fingerprint (hex).
  // Returns {included: true, entries, position} (entries [{asset, decimals, amount, and for
  // version 3 kind}], position version 3's collateral check, else undefined) or
  // {included: false, reason, message}.
  function verify(text, userId, anchor, published = null) {
    try {
      return { included: true, ...check(decode(text), userId, anchor, published) };
    } catch (e) {
      if (!(e instanceof Rejected)) throw e;
      return { included: false, reason: e.reason, message: e.detail };
    }
  }

  // Run when the page opens: a browser that computes the permutation, a node or SHA-256
  // differently from the Rust core is told so instead of giving verdicts (vectors from
  // tests/vectors/). Hashing a few nodes also gets the JavaScript engine to compile the field
  // code before the user's check.
  function selfTest() {
    const want = "11084501481526603421,6291559951628160880,13626645864671311919,18397438323058963117," +
      "7443014167353970324,17930833023906771425,4275355080008025761,7676681476902901785," +
      "3460534574143792217,11912731278641497187,8104899243369883110,674509706691634438";
    if (permute([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).join(",") !== want) return false;
    const left = hexBytes("9e8dd5b9cc38e4860653d9b4ac271d7881ab6955d579cedab079fd62b6c3d4ba");
    const right = hexBytes("635d963facbb47572440d5a17bda36878c73f2350f45b87ff12c9ae60d7da89f");
    for (let k = 0; k < 4; k++) {
      if (toHex(node(left, right)) !== "3ed298c9142908cd3bff9d9951295e3688c5c6ec7a82d7cd6887cfb3b04ca895") return false;
    }
    const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    return toHex(sha256(utf8("abc"))) === abc;
  }

  return {
    selfTest, fieldAdd, fieldMul, fieldSqr, permute, idCommitment, entryElements2, leafOf, node, walk, sha256, fingerprint, statementBytes, foldPrice,
    decode, check, verify, loadSummary, amountText, parseJson, hexBytes, toHex, Rejected, MAX_PROOF_CHARS,
  };
})();

// --------------------------------------------------------------------------------------------
// 7. The page: the round summary it carries, the user's id and file, the verdict.
// --------------------------------------------------------------------------------------------
(() => {
  if (typeof document === "undefined") return;
  const $ = (id) => document.getElementById(id);

  // One line per reason code, for people who are not engineers.
  const REASONS = {
    "malformed": "The file is not a complete inclusion proof: it may be damaged, cut short or not the right file.",
    "unknown-version": "The file uses a newer proof format than this page can read.",
    "wrong-round": "The file is for another round than the one this page checks.",
    "wrong-user": "The file is the proof of another user id than the one you entered.",
    "wrong-statement": "The round's fingerprint is not the one that was published.",
    "version-mismatch": "The file is an inclusion proof for another version of round than this one (the exchange gave you the wrong kind of file).",
    "asset-mismatch": "An asset's name or decimals in the file differ from the round's published asset list.",
    "balance-mismatch": "A balance in the file is not the one you expected.",
    "leaf-mismatch": "Your id and balances in the file do not match the entry the exchange committed to.",
    "path-mismatch": "The file does not connect your entry to the round's committed total.",
    "root-mismatch": "Your entry leads to a different set of balances than the one this round published.",
    "uncovered": "The file shows debts worth more than your collateral after haircuts, which this round's proof rules out for every user: the exchange's numbers do not add up.",
  };

  let anchor = null;
  let picked = null; // the chosen file: {name, size, text} or {name, size, error}

  const element = (tag, text, className) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
  };

  // A table with a header row; each row is [asset name, cell texts...] (numbers aligned right).
  function table(caption, headers, rows) {
    const t = element("table");
    t.append(element("caption", caption));
    const head = t.createTHead().insertRow();
    for (const h of headers) head.append(Object.assign(element("th", h), { scope: "col" }));
    const body = t.createTBody();
    for (const [name, ...cells] of rows) {
      const tr = body.insertRow();
      tr.append(Object.assign(element("th", name), { scope: "row" }), ...cells.map((c) => element("td", c, "num")));
    }
    return t;
  }

  function balanceTable(caption, rows) {
    return table(caption, ["Asset", "Amount", "Decimals"], rows.map((r) => [r.asset, r.amount, String(r.decimals)]));
  }

  // Version 3: one row per asset the user holds or owes, equity and debt side by side.
  function positionTable(caption, entries) {
    const rows = new Map();
    for (const e of entries) {
      if (!rows.has(e.asset)) rows.set(e.asset, [e.asset, "0", "0", String(e.decimals)]);
      rows.get(e.asset)[e.kind === "debt" ? 2 : 1] = e.amount;
    }
    return table(caption, ["Asset", "Equity", "Debt", "Decimals"], [...rows.values()]);
  }

  const usd = (text) => `${text} USD`;

  // What the round's proof enforced for this user (version 3).
  function collateralLine(position) {
    if (!position.has_debt) {
      return `You owe nothing in this round. Your holdings are worth ${usd(position.collateral_usd)} as collateral after haircuts, at the round's prices.`;
    }
    return `Your collateral after haircuts is worth ${usd(position.collateral_usd)}, your debt ${usd(position.debt_usd)}, at the round's prices: covered. The round's proof enforces this for every user who owes something.`;
  }

  // state: "idle" (waiting for input), "included", "refused" or "damaged" (the page itself).
  function show(state, title, line, { detail = "", reason = "", entries = null, position = undefined } = {}) {
    const box = $("verdict");
    box.dataset.state = state;
    box.dataset.reason = reason;
    $("verdict-title").textContent = title;
    $("verdict-line").textContent = line;
    $("verdict-detail").textContent = detail;
    const holder = $("verdict-balances");
    holder.replaceChildren();
    if (entries !== null) {
      const tableOf = position === undefined ? balanceTable : positionTable;
      holder.append(entries.length
        ? tableOf("Your balances in this round", entries)
        : element("p", "The proof holds no balance for you in this round (all zero)."));
    }
    if (position !== undefined) {
      const p = element("p", collateralLine(position));
      p.id = "verdict-collateral";
      holder.append(p);
    }
  }

  function groupHex(hex) {
    return hex.match(/.{1,8}/g).join(" ");
  }

  function fillRound() {
    $("fingerprint").textContent = groupHex(anchor.fingerprint);
    $("root").textContent = StarkPor.toHex(anchor.root);
    $("num-leaves").textContent = anchor.num_leaves.toLocaleString("en-US");
    $("range-bits").textContent = `every balance is proven to be in [0, 2^${anchor.range_bits})`;
    // not bound by the fingerprint: the figure of the verification the page's writer ran
    $("security-bits").textContent = anchor.security_bits === null ? "not stated"
      : `${anchor.security_bits} bits (conjectured), as verified when this page was written (not covered by the fingerprint)`;
    if (anchor.statement_version < 3) {
      $("totals").replaceChildren(balanceTable("Total liabilities of the round, per asset", anchor.assets.map((a) => ({
        asset: a.name, decimals: a.decimals, amount: StarkPor.amountText(a.total_units, a.decimals),
      }))));
      return;
    }
    // version 3: equity and debt totals, and the prices and haircuts of every collateral check
    const amount = (units, a) => StarkPor.amountText(units, a.decimals);
    $("totals").replaceChildren(table("Totals of the round per asset, and the prices of its collateral checks",
      ["Asset", "Equity", "Debt", "Net", "Price (USD)", "Haircut", "Decimals"],
      anchor.assets.map((a) => {
        const net = a.total_units - a.debt_units;
        return [a.name, amount(a.total_units, a), amount(a.debt_units, a), (net < 0n ? "-" : "") + amount(net < 0n ? -net : net, a),
          a.price === null ? "none (no debt allowed)" : a.price, a.price === null ? "" : a.haircut, String(a.decimals)];
      })));
  }

  async function pick() {
    const file = $("proof-file").files[0];
    picked = null;
    $("file-status").textContent = "";
    if (!file) return;
    // like the other verifiers: at most MAX_PROOF_CHARS + 1 bytes are read
    const bytes = new Uint8Array(await file.slice(0, StarkPor.MAX_PROOF_CHARS + 1).arrayBuffer());
    try {
      picked = { name: file.name, text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes) };
    } catch {
      picked = { name: file.name, error: "the file is not UTF-8 text" };
    }
    $("proof-text").value = "";
    $("file-status").textContent = `Chosen: ${file.name} (${file.size.toLocaleString("en-US")} bytes)`;
  }

  function run(event) {
    event.preventDefault();
    if (anchor === null) return;
    const userId = $("user-id").value;
    const text = picked !== null ? picked.text : $("proof-text").value;
    if (userId === "") {
      show("idle", "Enter your user id", "Type the user id your exchange account has, exactly.");
      $("user-id").focus();
      return;
    }
    if (picked === null && text.trim() === "") {
      show("idle", "Choose your proof file", "Choose the inclusion proof file your exchange gave you, or paste its text.");
      $("proof-file").focus();
      return;
    }
    const published = $("published").value.replace(/\s+/g, "").toLowerCase();
    if (published !== "" && !/^[0-9a-f]{64}$/.test(published)) {
      show("idle", "Check the published fingerprint", "A fingerprint is 64 characters 0-9 and a-f; leave the field empty to compare it yourself.");
      $("published").focus();
      return;
    }
    const result = picked !== null && picked.error
      ? { included: false, reason: "malformed", message: picked.error }
      : StarkPor.verify(text, userId, anchor, published || null);
    if (result.included) {
      const compare = published ? "the published fingerprint matches" : "compare its fingerprint below with the published one";
      show("included", "✓ INCLUDED",
        `User ${userId}: these balances are counted in round ${anchor.round_id} (${compare}).`,
        { entries: result.entries, position: result.position });
    } else {
      show("refused", "✗ NOT VERIFIED", REASONS[result.reason] || "The proof was refused.",
        { reason: result.reason, detail: `Reason code ${result.reason}: ${result.message}` });
    }
    $("verdict").scrollIntoView({ block: "start" });
  }

  function start() {
    if (!StarkPor.selfTest()) {
      show("damaged", "✗ THIS BROWSER CANNOT CHECK PROOFS",
        "Its JavaScript engine computed a known hash wrongly, so its verdicts could not be trusted. Open the page in another browser.",
        { reason: "self-test" });
      $("check").disabled = true;
      return;
    }
    try {
      anchor = StarkPor.loadSummary($("stark-por-summary").textContent);
    } catch (e) {
      show("damaged", "✗ THIS PAGE IS DAMAGED",
        "Its round summary is inconsistent, so it cannot check anything. Get the page again from your exchange.",
        { reason: "malformed", detail: e instanceof StarkPor.Rejected ? e.detail : String(e) });
      $("check").disabled = true;
      return;
    }
    fillRound();
    $("proof-file").addEventListener("change", () => { pick().catch((e) => { picked = { name: "", error: String(e) }; }); });
    $("proof-text").addEventListener("input", () => { picked = null; $("proof-file").value = ""; $("file-status").textContent = ""; });
    $("check-form").addEventListener("submit", run);
    show("idle", "Not checked yet", "Enter your user id and choose your inclusion proof file, then press Check.");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
