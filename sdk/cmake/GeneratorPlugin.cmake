# generator_add_plugin(<target>
#     SOURCES <file>...
#     [NAME <plugin name>]            default: <target>
#     [VERSION <x.y.z>]               default: PROJECT_VERSION or 0.0.0
#     [DESCRIPTION <text>]
#     [OUTPUT_DIRECTORY <dir>]        default: GENERATOR_PLUGIN_OUTPUT_DIRECTORY, else the build dir
#     [INSTALL_DIRECTORY <dir>]       install the module there (e.g. lib/generator/plugins)
#     [LIMITS <json>]                 per-generator hard limits for the manifest, e.g.
#                                     LIMITS [=[{"hello.big": {"max_task_memory_mb": 4096}}]=]
#                                     (keys: retry_on_timeout, max_task_memory_mb,
#                                     max_task_output_mb; docs/writing-a-plugin.md)
#     [MANIFEST_TEMPLATE <file>]      (tests only) a manifest template of your own
#     [SDK_ABI <n>])                  (tests only) pretend another SDK ABI
#
# Builds a MODULE library that the Generator host loads with QPluginLoader. It generates the
# Qt plugin root class and the JSON manifest (name, version, description, SDK ABI, C++ ABI),
# so the plugin's sources are plain C++ that define GENERATOR_PLUGIN_REGISTER(...).
include_guard(GLOBAL)

function(generator_add_plugin target)
  # The templates sit next to this file. A variable set at include time would not be seen from
  # sibling directories (in-tree plugins), so take the function's own location.
  set(_GENERATOR_PLUGIN_TEMPLATE_DIR "${CMAKE_CURRENT_FUNCTION_LIST_DIR}")
  cmake_parse_arguments(PARSE_ARGV 1 arg ""
    "NAME;VERSION;DESCRIPTION;OUTPUT_DIRECTORY;INSTALL_DIRECTORY;MANIFEST_TEMPLATE;SDK_ABI;LIMITS"
    "SOURCES")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "generator_add_plugin(${target}): SOURCES is required")
  endif()
  if(NOT arg_NAME)
    set(arg_NAME "${target}")
  endif()
  if(NOT arg_VERSION)
    if(PROJECT_VERSION)
      set(arg_VERSION "${PROJECT_VERSION}")
    else()
      set(arg_VERSION "0.0.0")
    endif()
  endif()
  if(NOT arg_SDK_ABI)
    set(arg_SDK_ABI "${GeneratorSDK_ABI_VERSION}")
  endif()
  if(NOT arg_MANIFEST_TEMPLATE)
    set(arg_MANIFEST_TEMPLATE "${_GENERATOR_PLUGIN_TEMPLATE_DIR}/plugin_manifest.json.in")
  endif()
  find_package(Qt6 REQUIRED COMPONENTS Core)

  string(MAKE_C_IDENTIFIER "${target}" GEN_PLUGIN_IDENT)
  set(GEN_PLUGIN_NAME "${arg_NAME}")
  set(GEN_PLUGIN_VERSION "${arg_VERSION}")
  # JSON string escaping for the manifest: backslashes first, then quotes.
  string(REPLACE "\\" "\\\\" GEN_PLUGIN_DESCRIPTION "${arg_DESCRIPTION}")
  string(REPLACE "\"" "\\\"" GEN_PLUGIN_DESCRIPTION "${GEN_PLUGIN_DESCRIPTION}")
  # The limits are JSON copied into the manifest as they are; the host validates them when
  # it reads the manifest (a bad value makes the plugin INVALID, naming the key).
  if(arg_LIMITS)
    set(GEN_PLUGIN_LIMITS "${arg_LIMITS}")
  else()
    set(GEN_PLUGIN_LIMITS "{}")
  endif()
  set(GEN_PLUGIN_SDK_ABI "${arg_SDK_ABI}")
  set(GEN_PLUGIN_SDK_VERSION "${GeneratorSDK_VERSION}")
  # The interface id carries the ABI major, so a plugin built for another ABI (or pretending
  # to, with SDK_ABI) also declares another interface.
  set(GEN_PLUGIN_IID "io.generator.sdk.PluginRoot/${arg_SDK_ABI}")
  set(GEN_PLUGIN_CXX_ABI "libstdc++")

  set(gen_dir "${CMAKE_CURRENT_BINARY_DIR}/${target}_generated")
  configure_file("${arg_MANIFEST_TEMPLATE}" "${gen_dir}/${target}_manifest.json" @ONLY)
  set(GEN_PLUGIN_MANIFEST_FILE "${target}_manifest.json")
  set(GEN_PLUGIN_ROOT_BASE "${target}_root")
  configure_file("${_GENERATOR_PLUGIN_TEMPLATE_DIR}/plugin_root.cpp.in"
                 "${gen_dir}/${target}_root.cpp" @ONLY)

  add_library(${target} MODULE ${arg_SOURCES} "${gen_dir}/${target}_root.cpp")
  set_target_properties(${target} PROPERTIES
    AUTOMOC ON
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_link_libraries(${target} PRIVATE GeneratorSDK::sdk Qt6::Core)
  target_link_options(${target} PRIVATE "LINKER:--no-undefined" "LINKER:-Bsymbolic")
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${arg_OUTPUT_DIRECTORY}")
  elseif(GENERATOR_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${GENERATOR_PLUGIN_OUTPUT_DIRECTORY}")
  endif()
  if(arg_INSTALL_DIRECTORY)
    install(TARGETS ${target} LIBRARY DESTINATION "${arg_INSTALL_DIRECTORY}" COMPONENT runtime)
  endif()
endfunction()
