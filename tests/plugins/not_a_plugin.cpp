// A plain shared library with no Qt plugin metadata: the host must report it as INVALID.
extern "C" int fixture_not_a_plugin_answer() {
  return 42;
}
