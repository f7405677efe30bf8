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

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
if(hex_length EQUAL 0)
  message(FATAL_ERROR "embed_file.cmake: ${INPUT} is empty")
endif()
# Sixteen bytes a line.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
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
