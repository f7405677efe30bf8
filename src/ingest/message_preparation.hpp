#pragma once

#include "catalog/catalog_registry.hpp"
#include "core/workspace.hpp"
#include "ingest/publish_parser.hpp"

namespace ferry {

// What a workspace's settings and catalog make of a published message before
// it is stored:
//  - a test-mode workspace marks it as a test;
//  - an alias of the catalog (an internal bus name) becomes its outbound type;
//  - a type the catalog does not list, or has archived, is refused
//    (unknown_event_type); a workspace without a catalog takes any type;
//  - a catalog that stamps workspace ids writes the workspace's id into the
//    payload, and refuses a payload that names another workspace;
//  - with validation on, a payload its type's schema refuses is
//    schema_violation, naming the failing path;
//  - the type's flags (PASSIVE) are copied onto the message.
// The payload's bytes are kept as published unless a field had to be added.
// Pure: safe on any thread.
Result<ParsedMessage> prepare_message(const CatalogSnapshot& catalogs, const Workspace& workspace,
                                      ParsedMessage message);

// The message "Send Test Event" publishes for `type`: its first example,
// marked as a test, with the workspace's own id where the catalog stamps one.
Result<ParsedMessage> test_message(const CatalogSnapshot& catalogs, const Workspace& workspace,
                                   const std::string& type);

}  // namespace ferry
