// setns(2) for Node.js: lets the agent create a pod's listening sockets inside the pod's network
// namespace without a process per pod. setns() switches only the calling thread, and Node's
// server.listen() creates and binds the socket synchronously on the main thread, so
// `enter(pod); listen(); enter(home)` puts the socket in the pod and the agent back home.
// Node creates a *connecting* socket only later (after an asynchronous lookup), so tcpSocket()
// makes one on the spot: called inside a node's namespace, it gives the agent a socket there
// from which to probe a pod as kubelet does. netlinkSocket() likewise gives a route netlink
// socket bound to the calling thread's namespace, through which the agent configures a pod's
// interface itself (src/kernel/netlink.ts) instead of starting an `ip` process per pod.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <string.h>
#include <linux/netlink.h>
#include <node_api.h>

static napi_value Setns(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "setns(fd): fd must be an integer");
    return NULL;
  }
  if (setns(fd, CLONE_NEWNET) != 0) {
    napi_throw_error(env, "ESETNS", strerror(errno));
  }
  return NULL;
}

static napi_value TcpSocket(napi_env env, napi_callback_info info) {
  napi_value result;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    napi_throw_error(env, "ESOCKET", strerror(errno));
    return NULL;
  }
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value NetlinkSocket(napi_env env, napi_callback_info info) {
  napi_value result;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    napi_throw_error(env, "ESOCKET", strerror(errno));
    return NULL;
  }
  napi_create_int32(env, fd, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "setns", NAPI_AUTO_LENGTH, Setns, NULL, &fn);
  napi_set_named_property(env, exports, "setns", fn);
  napi_create_function(env, "tcpSocket", NAPI_AUTO_LENGTH, TcpSocket, NULL, &fn);
  napi_set_named_property(env, exports, "tcpSocket", fn);
  napi_create_function(env, "netlinkSocket", NAPI_AUTO_LENGTH, NetlinkSocket, NULL, &fn);
  napi_set_named_property(env, exports, "netlinkSocket", fn);
  return exports;
}
