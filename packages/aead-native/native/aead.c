/*
 * Batched ChaCha20-Poly1305 (IETF) for SecretConnection frames: seals or opens every frame of one
 * write / one read in a single call, in place. Frames sit back to back at a 1044-byte stride
 * (4-byte LE length, 1024 data bytes, 16-byte tag); frame i uses the nonce whose 64-bit LE counter
 * is the caller's start value plus i.
 *
 * The cipher is OpenSSL's EVP as exported by the running node binary (or by the libcrypto it links):
 * measured fastest here (docs/benchmarks.md). The symbols are looked up with dlsym at load, so a
 * node without them makes the module fail to load (and the caller falls back) instead of crashing
 * on first use. No OpenSSL headers are needed: the few prototypes below are stable since 1.1.0.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DATA_MAX 1024
#define FRAME 1028
#define TAG 16
#define SEALED 1044

#define CTRL_AEAD_SET_IVLEN 0x9
#define CTRL_AEAD_GET_TAG 0x10
#define CTRL_AEAD_SET_TAG 0x11

typedef struct evp_cipher_ctx EVP_CIPHER_CTX;
typedef struct evp_cipher EVP_CIPHER;

static EVP_CIPHER_CTX *(*ctx_new)(void);
static void (*ctx_free)(EVP_CIPHER_CTX *);
static const EVP_CIPHER *(*chacha20_poly1305)(void);
static int (*cipher_init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, void *engine, const unsigned char *key, const unsigned char *iv, int enc);
static int (*cipher_update)(EVP_CIPHER_CTX *, unsigned char *out, int *outl, const unsigned char *in, int inl);
static int (*cipher_final)(EVP_CIPHER_CTX *, unsigned char *out, int *outl);
static int (*ctx_ctrl)(EVP_CIPHER_CTX *, int type, int arg, void *ptr);

static int resolve(void **slot, const char *name) {
  *slot = dlsym(RTLD_DEFAULT, name);
  return *slot != NULL;
}

static int resolve_all(void) {
  return resolve((void **)&ctx_new, "EVP_CIPHER_CTX_new") &&
    resolve((void **)&ctx_free, "EVP_CIPHER_CTX_free") &&
    resolve((void **)&chacha20_poly1305, "EVP_chacha20_poly1305") &&
    resolve((void **)&cipher_init, "EVP_CipherInit_ex") &&
    resolve((void **)&cipher_update, "EVP_CipherUpdate") &&
    resolve((void **)&cipher_final, "EVP_CipherFinal_ex") &&
    resolve((void **)&ctx_ctrl, "EVP_CIPHER_CTX_ctrl");
}

typedef struct { EVP_CIPHER_CTX *ctx; int enc; } cipher_t;

#define CHECK(call) do { if ((call) != napi_ok) return NULL; } while (0)

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, "ERR_AEAD_NATIVE", msg);
  return NULL;
}

static void finalize_cipher(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  cipher_t *c = data;
  ctx_free(c->ctx);
  free(c);
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, &ab, &off) != napi_ok) return 0;
  return type == napi_uint8_array;
}

/* createCipher(key: Uint8Array(32), encrypt: boolean): External */
static napi_value create_cipher(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  uint8_t *key;
  size_t key_len;
  bool enc;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_bytes(env, argv[0], &key, &key_len) || key_len != 32) return throw_error(env, "key must be a 32-byte Uint8Array");
  if (napi_get_value_bool(env, argv[1], &enc) != napi_ok) return throw_error(env, "encrypt must be a boolean");
  cipher_t *c = malloc(sizeof *c);
  if (c == NULL) return throw_error(env, "out of memory");
  c->enc = enc ? 1 : 0;
  c->ctx = ctx_new();
  static const uint8_t zero_iv[12] = { 0 };
  if (c->ctx == NULL || cipher_init(c->ctx, chacha20_poly1305(), NULL, NULL, NULL, c->enc) != 1 ||
      ctx_ctrl(c->ctx, CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
      cipher_init(c->ctx, NULL, NULL, key, zero_iv, c->enc) != 1) {
    if (c->ctx != NULL) ctx_free(c->ctx);
    free(c);
    return throw_error(env, "OpenSSL could not set up ChaCha20-Poly1305");
  }
  CHECK(napi_create_external(env, c, finalize_cipher, NULL, &result));
  return result;
}

static void nonce_at(uint8_t nonce[12], uint32_t lo, uint32_t hi, uint32_t i) {
  uint64_t v = (((uint64_t)hi << 32) | lo) + i;
  memset(nonce, 0, 4);
  for (int b = 0; b < 8; b++) nonce[4 + b] = (uint8_t)(v >> (8 * b));
}

/* Reads (cipher, buf, frames, lo, hi); checks that buf holds `frames` sealed-size slots. */
static int batch_args(napi_env env, napi_callback_info info, cipher_t **c, uint8_t **buf, uint32_t *frames, uint32_t *lo, uint32_t *hi) {
  size_t argc = 5, len;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return 0;
  if (napi_get_value_external(env, argv[0], (void **)c) != napi_ok) return 0;
  if (!get_bytes(env, argv[1], buf, &len)) return 0;
  if (napi_get_value_uint32(env, argv[2], frames) != napi_ok) return 0;
  if (napi_get_value_uint32(env, argv[3], lo) != napi_ok || napi_get_value_uint32(env, argv[4], hi) != napi_ok) return 0;
  return (uint64_t)*frames * SEALED <= len;
}

/* sealFrames(cipher, buf, frames, nonceLo, nonceHi): seals frames [0, frames) of buf in place. */
static napi_value seal_frames(napi_env env, napi_callback_info info) {
  cipher_t *c;
  uint8_t *buf, nonce[12];
  uint32_t frames, lo, hi;
  int n;
  if (!batch_args(env, info, &c, &buf, &frames, &lo, &hi) || !c->enc) return throw_error(env, "sealFrames(sealer, buf, frames, lo, hi): bad arguments");
  for (uint32_t i = 0; i < frames; i++) {
    uint8_t *f = buf + (size_t)i * SEALED;
    nonce_at(nonce, lo, hi, i);
    if (cipher_init(c->ctx, NULL, NULL, NULL, nonce, -1) != 1 ||
        cipher_update(c->ctx, f, &n, f, FRAME) != 1 ||
        cipher_final(c->ctx, f + n, &n) != 1 ||
        ctx_ctrl(c->ctx, CTRL_AEAD_GET_TAG, TAG, f + FRAME) != 1) return throw_error(env, "OpenSSL failed to seal a frame");
  }
  return NULL;
}

/*
 * openFrames(cipher, buf, frames, nonceLo, nonceHi): number. Opens the frames in place and moves
 * their data to the front of buf, back to back. Returns the data byte count, or for a failure at
 * frame i: -(2i + 1) when authentication failed, -(2i + 2) when the frame declares > 1024 bytes.
 */
static napi_value open_frames(napi_env env, napi_callback_info info) {
  cipher_t *c;
  uint8_t *buf, nonce[12];
  uint32_t frames, lo, hi;
  int n;
  int64_t out = 0;
  napi_value result;
  if (!batch_args(env, info, &c, &buf, &frames, &lo, &hi) || c->enc) return throw_error(env, "openFrames(opener, buf, frames, lo, hi): bad arguments");
  for (uint32_t i = 0; i < frames; i++) {
    uint8_t *f = buf + (size_t)i * SEALED;
    nonce_at(nonce, lo, hi, i);
    if (cipher_init(c->ctx, NULL, NULL, NULL, nonce, -1) != 1 ||
        cipher_update(c->ctx, f, &n, f, FRAME) != 1 ||
        ctx_ctrl(c->ctx, CTRL_AEAD_SET_TAG, TAG, f + FRAME) != 1 ||
        cipher_final(c->ctx, f + n, &n) != 1) {
      out = -(2 * (int64_t)i + 1);
      break;
    }
    uint32_t len = (uint32_t)f[0] | ((uint32_t)f[1] << 8) | ((uint32_t)f[2] << 16) | ((uint32_t)f[3] << 24);
    if (len > DATA_MAX) {
      out = -(2 * (int64_t)i + 2);
      break;
    }
    memmove(buf + out, f + 4, len);
    out += len;
  }
  CHECK(napi_create_int64(env, out, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  if (!resolve_all()) return throw_error(env, "this node does not export OpenSSL's EVP ChaCha20-Poly1305 functions");
  napi_property_descriptor props[] = {
    { "createCipher", NULL, create_cipher, NULL, NULL, NULL, napi_enumerable, NULL },
    { "sealFrames", NULL, seal_frames, NULL, NULL, NULL, napi_enumerable, NULL },
    { "openFrames", NULL, open_frames, NULL, NULL, NULL, napi_enumerable, NULL }
  };
  CHECK(napi_define_properties(env, exports, 3, props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
