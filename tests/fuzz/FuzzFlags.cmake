# Compiler set-up of the fuzz build (-DGENERATOR_FUZZ=ON), included by the top-level
# CMakeLists.txt before the folders it builds.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "GENERATOR_FUZZ needs clang (libFuzzer): CC=clang CXX=clang++")
endif()
# Everything built here is instrumented for libFuzzer's coverage and both sanitizers; any
# undefined behaviour aborts (a finding), it does not just print. -Wshadow=local (see
# gen_set_warnings) is gcc's.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -Wno-unknown-warning-option)
add_link_options(-fsanitize=address,undefined)

# clang 14 cannot compile QPDF 11's <qpdf/JSON.hh> in C++20 mode: it instantiates the
# constexpr ~vector<JSON> of JSON_array's defaulted virtual destructor while JSON is still
# incomplete (gcc and later clangs accept it). A copy of the header with that destructor
# written `{}` (same behaviour; JSON_array's vtable lives in libqpdf) comes first on the
# include path of this build only.
find_path(GEN_QPDF_INCLUDE_DIR qpdf/JSON.hh REQUIRED)
file(READ "${GEN_QPDF_INCLUDE_DIR}/qpdf/JSON.hh" qpdf_json_hh)
string(REPLACE "virtual ~JSON_array() = default;" "virtual ~JSON_array() {}" qpdf_json_hh
               "${qpdf_json_hh}")
file(WRITE "${PROJECT_BINARY_DIR}/qpdf-clang14/qpdf/JSON.hh" "${qpdf_json_hh}")
include_directories(BEFORE SYSTEM "${PROJECT_BINARY_DIR}/qpdf-clang14")
