#include "agent/attacks/sql_words.h"

#include <string>
#include <unordered_map>

namespace rampart::attacks {
namespace {

using C = SqlWordClass;
using R = SqlRisk;

struct Entry {
  std::string_view word;
  SqlWordClass word_class;
  bool function;
  SqlRisk risk;
};

// Dialects: MySQL/MariaDB, SQL Server, PostgreSQL, Oracle, SQLite, DB2,
// Informix, Access. Common English words are here too (AS, ON, BY): the
// grammar, not the dictionary, decides whether a sentence is SQL.
constexpr Entry kEntries[] = {
    // Clause and expression keywords.
    {"FROM", C::kKeyword, false, R::kNone}, {"WHERE", C::kKeyword, false, R::kNone},
    {"GROUP", C::kKeyword, false, R::kNone}, {"ORDER", C::kKeyword, false, R::kNone},
    {"BY", C::kKeyword, false, R::kNone}, {"HAVING", C::kKeyword, false, R::kNone},
    {"LIMIT", C::kKeyword, false, R::kNone}, {"INTO", C::kKeyword, false, R::kNone}, {"VALUES", C::kKeyword, false, R::kNone},
    {"AS", C::kKeyword, false, R::kNone}, {"ON", C::kKeyword, false, R::kNone},
    {"JOIN", C::kKeyword, false, R::kNone}, {"INNER", C::kKeyword, false, R::kNone},
    {"OUTER", C::kKeyword, false, R::kNone}, {"LEFT", C::kKeyword, true, R::kStringBuilding},
    {"RIGHT", C::kKeyword, true, R::kStringBuilding}, {"CROSS", C::kKeyword, false, R::kNone},
    {"NATURAL", C::kKeyword, false, R::kNone}, {"STRAIGHT_JOIN", C::kKeyword, false, R::kNone},
    {"USING", C::kKeyword, false, R::kNone},
    {"CASE", C::kKeyword, false, R::kNone}, {"WHEN", C::kKeyword, false, R::kNone},
    {"THEN", C::kKeyword, false, R::kNone}, {"ELSE", C::kKeyword, false, R::kNone},
    {"END", C::kKeyword, false, R::kNone}, {"ALL", C::kKeyword, false, R::kNone},
    {"DISTINCT", C::kKeyword, false, R::kNone}, {"DISTINCTROW", C::kKeyword, false, R::kNone},
    {"ASC", C::kKeyword, false, R::kNone},
    {"DESC", C::kKeyword, false, R::kNone}, {"FOR", C::kKeyword, false, R::kNone},
    {"PROCEDURE", C::kKeyword, false, R::kNone}, {"TABLE", C::kKeyword, false, R::kNone},
    {"DATABASE", C::kBareword, true, R::kMetadata}, {"SCHEMA", C::kBareword, true, R::kMetadata},
    {"WITH", C::kKeyword, false, R::kNone},
    {"EXISTS", C::kKeyword, false, R::kNone}, {"ANY", C::kKeyword, false, R::kNone},
    {"SOME", C::kKeyword, false, R::kNone}, {"INTERVAL", C::kKeyword, false, R::kNone},
    {"BINARY", C::kKeyword, false, R::kNone}, {"USER", C::kBareword, true, R::kMetadata},
    // Statements.
    {"SELECT", C::kStatement, false, R::kNone}, {"INSERT", C::kStatement, true, R::kStringBuilding},
    {"UPDATE", C::kStatement, false, R::kNone}, {"DELETE", C::kStatement, false, R::kNone},
    {"REPLACE", C::kStatement, true, R::kStringBuilding}, {"DROP", C::kStatement, false, R::kNone},
    {"CREATE", C::kStatement, false, R::kNone}, {"ALTER", C::kStatement, false, R::kNone},
    {"TRUNCATE", C::kStatement, true, R::kStringBuilding}, {"RENAME", C::kStatement, false, R::kNone},
    {"GRANT", C::kStatement, false, R::kNone}, {"REVOKE", C::kStatement, false, R::kNone},
    {"EXEC", C::kStatement, false, R::kNone}, {"EXECUTE", C::kStatement, false, R::kNone},
    {"DECLARE", C::kStatement, false, R::kNone}, {"SET", C::kStatement, false, R::kNone},
    {"SHUTDOWN", C::kStatement, false, R::kNone}, {"WAITFOR", C::kStatement, false, R::kNone},
    {"BEGIN", C::kStatement, false, R::kNone}, {"COMMIT", C::kStatement, false, R::kNone},
    {"ROLLBACK", C::kStatement, false, R::kNone}, {"USE", C::kStatement, false, R::kNone},
    {"SHOW", C::kStatement, false, R::kNone}, {"DESCRIBE", C::kStatement, false, R::kNone},
    {"CALL", C::kStatement, false, R::kNone}, {"HANDLER", C::kStatement, false, R::kNone},
    {"LOAD", C::kStatement, false, R::kNone}, {"MERGE", C::kStatement, false, R::kNone},
    {"KILL", C::kStatement, false, R::kNone}, {"BACKUP", C::kStatement, false, R::kNone},
    {"RESTORE", C::kStatement, false, R::kNone}, {"DBCC", C::kStatement, false, R::kNone},
    {"PREPARE", C::kStatement, false, R::kNone}, {"DEALLOCATE", C::kStatement, false, R::kNone},
    {"IF", C::kStatement, true, R::kStringBuilding}, {"WHILE", C::kStatement, false, R::kNone},
    {"PRINT", C::kStatement, false, R::kNone}, {"RAISERROR", C::kStatement, false, R::kNone},
    {"OPEN", C::kStatement, false, R::kNone}, {"CLOSE", C::kStatement, false, R::kNone},
    {"RETURN", C::kStatement, false, R::kNone}, {"UNLOCK", C::kStatement, false, R::kNone},
    {"FLUSH", C::kStatement, false, R::kNone}, {"COPY", C::kStatement, false, R::kNone},
    {"PRAGMA", C::kStatement, false, R::kNone}, {"ATTACH", C::kStatement, false, R::kNone},
    {"RECONFIGURE", C::kStatement, false, R::kNone}, {"GOTO", C::kStatement, false, R::kNone},
    // Set operators.
    {"UNION", C::kUnion, false, R::kNone}, {"INTERSECT", C::kUnion, false, R::kNone},
    {"EXCEPT", C::kUnion, false, R::kNone},
    // Logic.
    {"AND", C::kLogic, false, R::kNone}, {"OR", C::kLogic, false, R::kNone},
    {"XOR", C::kLogic, false, R::kNone}, {"NOT", C::kLogic, false, R::kNone},
    // Operator words.
    {"LIKE", C::kOperator, false, R::kNone}, {"RLIKE", C::kOperator, false, R::kNone},
    {"REGEXP", C::kOperator, false, R::kNone}, {"ILIKE", C::kOperator, false, R::kNone},
    {"IS", C::kOperator, false, R::kNone}, {"IN", C::kOperator, false, R::kNone},
    {"BETWEEN", C::kOperator, false, R::kNone}, {"DIV", C::kOperator, false, R::kNone},
    {"MOD", C::kOperator, true, R::kNone}, {"SOUNDS", C::kOperator, false, R::kNone},
    {"COLLATE", C::kOperator, false, R::kNone}, {"GLOB", C::kOperator, false, R::kNone},
    // Literal words.
    {"NULL", C::kValue, false, R::kNone}, {"TRUE", C::kValue, false, R::kNone},
    {"FALSE", C::kValue, false, R::kNone}, {"UNKNOWN", C::kValue, false, R::kNone},
    {"CURRENT_USER", C::kValue, true, R::kMetadata}, {"SESSION_USER", C::kValue, true, R::kMetadata},
    {"SYSTEM_USER", C::kValue, true, R::kMetadata}, {"CURRENT_DATE", C::kValue, true, R::kNone},
    {"CURRENT_TIME", C::kValue, true, R::kNone}, {"CURRENT_TIMESTAMP", C::kValue, true, R::kNone},
    {"LOCALTIME", C::kValue, true, R::kNone}, {"LOCALTIMESTAMP", C::kValue, true, R::kNone},
    {"UTC_DATE", C::kValue, true, R::kNone}, {"UTC_TIME", C::kValue, true, R::kNone},
    {"UTC_TIMESTAMP", C::kValue, true, R::kNone}, {"SYSDATE", C::kValue, true, R::kNone},
    {"CURRENT_SCHEMA", C::kValue, true, R::kMetadata}, {"ROWNUM", C::kValue, false, R::kNone},
    // Types.
    {"CHAR", C::kType, true, R::kStringBuilding}, {"VARCHAR", C::kType, false, R::kNone},
    {"VARCHAR2", C::kType, false, R::kNone}, {"NVARCHAR", C::kType, false, R::kNone},
    {"NCHAR", C::kType, true, R::kStringBuilding}, {"INT", C::kType, false, R::kNone},
    {"INTEGER", C::kType, false, R::kNone}, {"BIGINT", C::kType, false, R::kNone},
    {"SMALLINT", C::kType, false, R::kNone}, {"TINYINT", C::kType, false, R::kNone},
    {"DECIMAL", C::kType, false, R::kNone}, {"NUMERIC", C::kType, false, R::kNone},
    {"FLOAT", C::kType, false, R::kNone}, {"DATETIME", C::kType, false, R::kNone},
    {"NTEXT", C::kType, false, R::kNone}, {"VARBINARY", C::kType, false, R::kNone},
    {"SIGNED", C::kType, false, R::kNone}, {"UNSIGNED", C::kType, false, R::kNone},
    {"SYSNAME", C::kType, false, R::kNone}, {"NUMBER", C::kType, false, R::kNone},
    // Functions that sleep.
    {"SLEEP", C::kBareword, true, R::kTimeDelay}, {"BENCHMARK", C::kBareword, true, R::kTimeDelay},
    {"PG_SLEEP", C::kBareword, true, R::kTimeDelay}, {"PG_SLEEP_FOR", C::kBareword, true, R::kTimeDelay},
    {"RANDOMBLOB", C::kBareword, true, R::kTimeDelay}, {"DBMS_LOCK.SLEEP", C::kBareword, true, R::kTimeDelay},
    {"DBMS_SESSION.SLEEP", C::kBareword, true, R::kTimeDelay},
    {"DBMS_PIPE.RECEIVE_MESSAGE", C::kBareword, true, R::kTimeDelay},
    {"RECEIVE_MESSAGE", C::kBareword, true, R::kTimeDelay}, {"GET_LOCK", C::kBareword, true, R::kTimeDelay},
    // Functions and procedures that reach files, commands or the network.
    {"LOAD_FILE", C::kBareword, true, R::kSystem}, {"XP_CMDSHELL", C::kBareword, true, R::kSystem},
    {"XP_DIRTREE", C::kBareword, true, R::kSystem}, {"XP_FILEEXIST", C::kBareword, true, R::kSystem},
    {"XP_REGREAD", C::kBareword, true, R::kSystem}, {"XP_REGWRITE", C::kBareword, true, R::kSystem},
    {"XP_SERVICECONTROL", C::kBareword, true, R::kSystem}, {"SP_OACREATE", C::kBareword, true, R::kSystem},
    {"SP_OAMETHOD", C::kBareword, true, R::kSystem}, {"SP_EXECUTESQL", C::kBareword, true, R::kSystem},
    {"SP_MAKEWEBTASK", C::kBareword, true, R::kSystem}, {"SP_CONFIGURE", C::kBareword, true, R::kSystem},
    {"SP_ADDLOGIN", C::kBareword, true, R::kSystem}, {"SP_ADDSRVROLEMEMBER", C::kBareword, true, R::kSystem},
    {"SP_PASSWORD", C::kBareword, true, R::kSystem}, {"OPENROWSET", C::kBareword, true, R::kSystem},
    {"OPENDATASOURCE", C::kBareword, true, R::kSystem}, {"OPENQUERY", C::kBareword, true, R::kSystem},
    {"UTL_HTTP.REQUEST", C::kBareword, true, R::kSystem}, {"UTL_INADDR.GET_HOST_ADDRESS", C::kBareword, true, R::kSystem},
    {"UTL_INADDR.GET_HOST_NAME", C::kBareword, true, R::kSystem}, {"UTL_FILE.FOPEN", C::kBareword, true, R::kSystem},
    {"DBMS_JAVA.RUNJAVA", C::kBareword, true, R::kSystem}, {"HTTPURITYPE", C::kBareword, true, R::kSystem},
    {"LO_IMPORT", C::kBareword, true, R::kSystem}, {"LO_EXPORT", C::kBareword, true, R::kSystem},
    {"PG_READ_FILE", C::kBareword, true, R::kSystem}, {"PG_READ_BINARY_FILE", C::kBareword, true, R::kSystem},
    {"PG_LS_DIR", C::kBareword, true, R::kSystem}, {"SYS_EVAL", C::kBareword, true, R::kSystem},
    {"SYS_EXEC", C::kBareword, true, R::kSystem}, {"FILETOCLOB", C::kBareword, true, R::kSystem},
    {"FILETOBLOB", C::kBareword, true, R::kSystem}, {"LOAD_EXTENSION", C::kBareword, true, R::kSystem},
    {"DBMS_LDAP.INIT", C::kBareword, true, R::kSystem}, {"DBMS_XMLGEN.GETXML", C::kBareword, true, R::kSystem},
    // Functions that leak data through error messages.
    {"EXTRACTVALUE", C::kBareword, true, R::kErrorBased}, {"UPDATEXML", C::kBareword, true, R::kErrorBased},
    {"NAME_CONST", C::kBareword, true, R::kErrorBased}, {"GTID_SUBSET", C::kBareword, true, R::kErrorBased},
    {"GTID_SUBTRACT", C::kBareword, true, R::kErrorBased}, {"JSON_KEYS", C::kBareword, true, R::kErrorBased},
    {"ST_LATFROMGEOHASH", C::kBareword, true, R::kErrorBased},
    {"ST_LONGFROMGEOHASH", C::kBareword, true, R::kErrorBased},
    {"ST_POINTFROMGEOHASH", C::kBareword, true, R::kErrorBased}, {"XMLTYPE", C::kBareword, true, R::kErrorBased},
    {"CTXSYS.DRITHSX.SN", C::kBareword, true, R::kErrorBased},
    {"DBMS_UTILITY.SQLID_TO_SQLHASH", C::kBareword, true, R::kErrorBased},
    {"ORDSYS.ORD_DICOM.GETMAPPINGXPATH", C::kBareword, true, R::kErrorBased},
    {"DBMS_XDB_VERSION.CHECKIN", C::kBareword, true, R::kErrorBased},
    // Functions that reveal the database, its version and its users.
    {"VERSION", C::kBareword, true, R::kMetadata}, {"DB_NAME", C::kBareword, true, R::kMetadata},
    {"DB_ID", C::kBareword, true, R::kMetadata}, {"HOST_NAME", C::kBareword, true, R::kMetadata},
    {"SUSER_NAME", C::kBareword, true, R::kMetadata}, {"SUSER_SNAME", C::kBareword, true, R::kMetadata},
    {"USER_NAME", C::kBareword, true, R::kMetadata}, {"IS_SRVROLEMEMBER", C::kBareword, true, R::kMetadata},
    {"IS_MEMBER", C::kBareword, true, R::kMetadata}, {"HAS_DBACCESS", C::kBareword, true, R::kMetadata},
    {"SERVERPROPERTY", C::kBareword, true, R::kMetadata}, {"OBJECT_ID", C::kBareword, true, R::kMetadata},
    {"OBJECT_NAME", C::kBareword, true, R::kMetadata}, {"COL_NAME", C::kBareword, true, R::kMetadata},
    {"SQLITE_VERSION", C::kBareword, true, R::kMetadata}, {"CONNECTION_ID", C::kBareword, true, R::kMetadata},
    {"CURRENT_DATABASE", C::kBareword, true, R::kMetadata}, {"INET_SERVER_ADDR", C::kBareword, true, R::kMetadata},
    {"SYS_CONTEXT", C::kBareword, true, R::kMetadata}, {"PG_CLIENT_ENCODING", C::kBareword, true, R::kMetadata},
    {"SCHEMA_NAME", C::kBareword, true, R::kMetadata}, {"TABLE_NAME", C::kBareword, false, R::kNone},
    // The tools of blind extraction and string building.
    {"CHR", C::kBareword, true, R::kStringBuilding}, {"ASCII", C::kBareword, true, R::kStringBuilding},
    {"ORD", C::kBareword, true, R::kStringBuilding}, {"HEX", C::kBareword, true, R::kStringBuilding},
    {"UNHEX", C::kBareword, true, R::kStringBuilding}, {"CONCAT", C::kBareword, true, R::kStringBuilding},
    {"CONCAT_WS", C::kBareword, true, R::kStringBuilding}, {"GROUP_CONCAT", C::kBareword, true, R::kStringBuilding},
    {"STRING_AGG", C::kBareword, true, R::kStringBuilding}, {"SUBSTRING", C::kBareword, true, R::kStringBuilding},
    {"SUBSTR", C::kBareword, true, R::kStringBuilding}, {"MID", C::kBareword, true, R::kStringBuilding},
    {"LENGTH", C::kBareword, true, R::kStringBuilding}, {"LEN", C::kBareword, true, R::kStringBuilding},
    {"CHAR_LENGTH", C::kBareword, true, R::kStringBuilding}, {"BIT_LENGTH", C::kBareword, true, R::kStringBuilding},
    {"IIF", C::kBareword, true, R::kStringBuilding}, {"IFNULL", C::kBareword, true, R::kStringBuilding},
    {"ISNULL", C::kBareword, true, R::kStringBuilding}, {"NULLIF", C::kBareword, true, R::kStringBuilding},
    {"COALESCE", C::kBareword, true, R::kStringBuilding}, {"CAST", C::kBareword, true, R::kStringBuilding},
    {"CONVERT", C::kBareword, true, R::kStringBuilding}, {"COUNT", C::kBareword, true, R::kStringBuilding},
    {"ELT", C::kBareword, true, R::kStringBuilding}, {"MAKE_SET", C::kBareword, true, R::kStringBuilding},
    {"FIND_IN_SET", C::kBareword, true, R::kStringBuilding}, {"INSTR", C::kBareword, true, R::kStringBuilding},
    {"LOCATE", C::kBareword, true, R::kStringBuilding}, {"POSITION", C::kBareword, true, R::kStringBuilding},
    {"REVERSE", C::kBareword, true, R::kStringBuilding}, {"LOWER", C::kBareword, true, R::kStringBuilding},
    {"UPPER", C::kBareword, true, R::kStringBuilding}, {"LCASE", C::kBareword, true, R::kStringBuilding},
    {"UCASE", C::kBareword, true, R::kStringBuilding}, {"TRIM", C::kBareword, true, R::kStringBuilding},
    {"LTRIM", C::kBareword, true, R::kStringBuilding}, {"RTRIM", C::kBareword, true, R::kStringBuilding},
    {"REPEAT", C::kBareword, true, R::kStringBuilding}, {"LPAD", C::kBareword, true, R::kStringBuilding},
    {"RPAD", C::kBareword, true, R::kStringBuilding}, {"MD5", C::kBareword, true, R::kStringBuilding},
    {"SHA1", C::kBareword, true, R::kStringBuilding}, {"SHA2", C::kBareword, true, R::kStringBuilding},
    {"RAND", C::kBareword, true, R::kStringBuilding}, {"FLOOR", C::kBareword, true, R::kStringBuilding},
    {"CEIL", C::kBareword, true, R::kStringBuilding}, {"CEILING", C::kBareword, true, R::kStringBuilding},
    {"CONV", C::kBareword, true, R::kStringBuilding}, {"BIN", C::kBareword, true, R::kStringBuilding},
    {"UNCOMPRESS", C::kBareword, true, R::kStringBuilding}, {"TO_BASE64", C::kBareword, true, R::kStringBuilding},
    {"FROM_BASE64", C::kBareword, true, R::kStringBuilding}, {"XMLAGG", C::kBareword, true, R::kStringBuilding},
    {"XMLELEMENT", C::kBareword, true, R::kStringBuilding}, {"QUOTENAME", C::kBareword, true, R::kStringBuilding},
    {"NVL", C::kBareword, true, R::kStringBuilding}, {"NVL2", C::kBareword, true, R::kStringBuilding},
    {"DECODE", C::kBareword, true, R::kStringBuilding}, {"TO_CHAR", C::kBareword, true, R::kStringBuilding},
    {"UNICODE", C::kBareword, true, R::kStringBuilding}, {"REGEXP_SUBSTR", C::kBareword, true, R::kStringBuilding},
    {"EXP", C::kBareword, true, R::kStringBuilding}, {"EXTRACT", C::kBareword, true, R::kStringBuilding},
    {"SUBSTRING_INDEX", C::kBareword, true, R::kStringBuilding}, {"STUFF", C::kBareword, true, R::kStringBuilding},
    {"FN_VARBINTOHEXSTR", C::kBareword, true, R::kStringBuilding},
    // System catalogs.
    {"INFORMATION_SCHEMA", C::kBareword, false, R::kMetadata}, {"SYSOBJECTS", C::kBareword, false, R::kMetadata},
    {"SYSCOLUMNS", C::kBareword, false, R::kMetadata}, {"SYSUSERS", C::kBareword, false, R::kMetadata},
    {"SYSDATABASES", C::kBareword, false, R::kMetadata}, {"SYSLOGINS", C::kBareword, false, R::kMetadata},
    {"SYSPROCESSES", C::kBareword, false, R::kMetadata}, {"PG_CATALOG", C::kBareword, false, R::kMetadata},
    {"PG_TABLES", C::kBareword, false, R::kMetadata}, {"PG_USER", C::kBareword, false, R::kMetadata},
    {"PG_SHADOW", C::kBareword, false, R::kMetadata}, {"PG_DATABASE", C::kBareword, false, R::kMetadata},
    {"ALL_TABLES", C::kBareword, false, R::kMetadata}, {"ALL_TAB_COLUMNS", C::kBareword, false, R::kMetadata},
    {"USER_TABLES", C::kBareword, false, R::kMetadata}, {"DBA_USERS", C::kBareword, false, R::kMetadata},
    {"ALL_USERS", C::kBareword, false, R::kMetadata}, {"SQLITE_MASTER", C::kBareword, false, R::kMetadata},
    {"SQLITE_SCHEMA", C::kBareword, false, R::kMetadata}, {"MSYSOBJECTS", C::kBareword, false, R::kMetadata},
    {"MSYSACCESSOBJECTS", C::kBareword, false, R::kMetadata}, {"SYSIBM", C::kBareword, false, R::kMetadata},
    {"SYSCAT", C::kBareword, false, R::kMetadata}, {"MYSQL.USER", C::kBareword, false, R::kMetadata}, {"V$VERSION", C::kBareword, false, R::kMetadata},
};

const std::unordered_map<std::string, SqlWord>& Dictionary() {
  static const auto* const dictionary = [] {
    auto* map = new std::unordered_map<std::string, SqlWord>();
    for (const Entry& e : kEntries) {
      SqlWord word;
      word.word_class = e.word_class;
      word.function = e.function;
      word.risk = e.risk;
      word.catalog = !e.function && e.risk == SqlRisk::kMetadata && e.word_class == SqlWordClass::kBareword;
      map->emplace(std::string(e.word), word);
    }
    return map;
  }();
  return *dictionary;
}

const SqlWord* Find(std::string_view upper) {
  const auto& dictionary = Dictionary();
  const auto it = dictionary.find(std::string(upper));
  return it == dictionary.end() ? nullptr : &it->second;
}

}  // namespace

SqlWord LookupSqlWord(std::string_view word) {
  if (word.empty() || word.size() > 64) return {};
  std::string upper(word);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (const SqlWord* whole = Find(upper)) return *whole;
  if (upper.find('.') == std::string::npos) return {};
  // A qualified name: a bareword whose parts may still tell something.
  SqlWord result;
  std::string_view rest = upper;
  while (!rest.empty()) {
    const size_t dot = rest.find('.');
    const std::string_view part = rest.substr(0, dot);
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    if (part.empty()) continue;
    const SqlWord* entry = Find(part);
    if (entry == nullptr) continue;
    if (entry->catalog) result.catalog = true;
    if (rest.empty() && entry->function) {
      result.function = true;
      result.risk = entry->risk;
    }
  }
  if (result.catalog && result.risk == SqlRisk::kNone) result.risk = SqlRisk::kMetadata;
  return result;
}

}  // namespace rampart::attacks
