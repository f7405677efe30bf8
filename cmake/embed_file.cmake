# Turns a file into a C++ source with its bytes, so the binary carries it and
# reads nothing at run time. Run at build time (cmake -P), so a change to the
# file rebuilds only this source:
#   cmake -DINPUT=file -DOUTPUT=file.cpp -DHEADER=api/x.hpp -DFUNCTION=x -P embed_file.cmake
# The generated source defines `std::string_view ferry::FUNCTION()`, declared
# in HEADER.
foreach(var INPUT OUTPUT HEADER FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_file.cmake: ${var} is not set")
  endif()
endforeach()

include("${CMAKE_CURRENT_LIST_DIR}/embed_bytes.cmake")
ferry_embed_bytes("${INPUT}" bytes)
get_filename_component(input_name "${INPUT}" NAME)

file(WRITE "${OUTPUT}.tmp"
"// Generated at build time from ${input_name} by cmake/embed_file.cmake: do not edit.
#include \"${HEADER}\"

namespace ferry {

namespace {
constexpr unsigned char kBytes[] = {
    ${bytes}
};
}  // namespace

std::string_view ${FUNCTION}() { return {reinterpret_cast<const char*>(kBytes), sizeof kBytes}; }

}  // namespace ferry
")
# Replaced only when it changed, so an unchanged file recompiles nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
