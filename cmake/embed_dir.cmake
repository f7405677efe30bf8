# Turns every file under a folder into a C++ source with their bytes and a
# table of (path relative to the folder, content type, bytes), so the binary
# carries the whole folder and reads nothing at run time. Run at build time:
#   cmake -DINPUT_DIR=dir -DOUTPUT=file.cpp -DHEADER=api/x.hpp -DFUNCTION=x -P embed_dir.cmake
# The generated source defines `std::span<const ferry::EmbeddedFile>
# ferry::FUNCTION()` (EmbeddedFile and the declaration are in HEADER), sorted
# by path. The content type comes from the file's extension; an unknown
# extension is an error, so nothing is served with a guessed type.
foreach(var INPUT_DIR OUTPUT HEADER FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_dir.cmake: ${var} is not set")
  endif()
endforeach()

include("${CMAKE_CURRENT_LIST_DIR}/embed_bytes.cmake")

file(GLOB_RECURSE files RELATIVE "${INPUT_DIR}" "${INPUT_DIR}/*")
list(SORT files)
set(arrays "")
set(table "")
set(index 0)
foreach(path ${files})
  if(path MATCHES "(^|/)\\.")
    continue()  # editors' and the system's hidden files
  endif()
  get_filename_component(ext "${path}" LAST_EXT)
  string(TOLOWER "${ext}" ext)
  if(ext STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(ext STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(ext STREQUAL ".js" OR ext STREQUAL ".mjs")
    set(type "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".json")
    set(type "application/json")
  elseif(ext STREQUAL ".svg")
    set(type "image/svg+xml")
  elseif(ext STREQUAL ".png")
    set(type "image/png")
  elseif(ext STREQUAL ".ico")
    set(type "image/x-icon")
  elseif(ext STREQUAL ".txt")
    set(type "text/plain; charset=utf-8")
  else()
    message(FATAL_ERROR "embed_dir.cmake: ${INPUT_DIR}/${path}: no content type for '${ext}'")
  endif()
  ferry_embed_bytes("${INPUT_DIR}/${path}" bytes)
  string(APPEND arrays "// ${path}\nconstexpr unsigned char kFile${index}[] = {\n    ${bytes}\n};\n")
  string(APPEND table "    {\"${path}\", \"${type}\", {reinterpret_cast<const char*>(kFile${index}), sizeof kFile${index}}},\n")
  math(EXPR index "${index} + 1")
endforeach()
if(index EQUAL 0)
  message(FATAL_ERROR "embed_dir.cmake: ${INPUT_DIR} has no files")
endif()
get_filename_component(input_name "${INPUT_DIR}" NAME)

file(WRITE "${OUTPUT}.tmp"
"// Generated at build time from ${input_name}/ by cmake/embed_dir.cmake: do not edit.
#include <array>

#include \"${HEADER}\"

namespace ferry {

namespace {
${arrays}
const std::array<EmbeddedFile, ${index}> kFiles = {{
${table}}};
}  // namespace

std::span<const EmbeddedFile> ${FUNCTION}() { return kFiles; }

}  // namespace ferry
")
# Replaced only when it changed, so an unchanged folder recompiles nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
