// SQLite-backed job records; see job_store.h.
#include "learner/jobs/job_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace flywheel::learner {
namespace {

namespace v1 = ::flywheel::v1;

// The two tables hold serialised protos; the extra columns exist to index and order them. `meta`
// keeps the id counter apart from the jobs so a deleted row could never free its id.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('last_job_number', 0);
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  state INTEGER NOT NULL,
  created REAL NOT NULL,
  record BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS metrics (
  job_id TEXT NOT NULL,
  step INTEGER NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY (job_id, step));
)sql";

// A prepared statement, finalised on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  absl::Status status(const std::string& what) const {
    return rc_ == SQLITE_OK || rc_ == SQLITE_DONE || rc_ == SQLITE_ROW
               ? absl::OkStatus()
               : absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db_)));
  }
  Statement& Bind(int i, const std::string& text) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, const std::string& bytes) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_blob(stmt_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t value) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, i, value);
    return *this;
  }
  Statement& Bind(int i, double value) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_double(stmt_, i, value);
    return *this;
  }
  // Advances; true while a row is available. Errors leave rc_ set for status().
  bool Step() {
    if (rc_ != SQLITE_OK && rc_ != SQLITE_ROW) return false;
    rc_ = sqlite3_step(stmt_);
    return rc_ == SQLITE_ROW;
  }
  // Runs a statement that returns no rows.
  absl::Status Run(const std::string& what) {
    Step();
    return status(what);
  }
  std::string Blob(int col) const {
    const void* data = sqlite3_column_blob(stmt_, col);
    return std::string(static_cast<const char*>(data), sqlite3_column_bytes(stmt_, col));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

absl::Status Exec(sqlite3* db, const char* sql, const std::string& what) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status s = absl::InternalError(absl::StrCat(what, ": ", error ? error : "?"));
    sqlite3_free(error);
    return s;
  }
  return absl::OkStatus();
}

template <typename Proto>
absl::StatusOr<Proto> ParseRecord(const std::string& bytes, const std::string& what) {
  Proto proto;
  if (!proto.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("corrupt record of ", what));
  }
  return proto;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = absl::InternalError(
        absl::StrCat("cannot open job database ", path, ": ", db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<JobStore> store(new JobStore(db, path));
  std::lock_guard lock(store->mu_);
  // FULL makes every commit fsync the WAL, which is what "OK means on disk" needs; the busy
  // timeout covers a `flywheel` tool reading the file while the learner writes.
  RETURN_IF_ERROR(Exec(db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                       "PRAGMA busy_timeout=5000;",
                       absl::StrCat("job database ", path)));
  RETURN_IF_ERROR(Exec(db, kSchema, absl::StrCat("job database ", path, " schema")));
  return store;
}

JobStore::~JobStore() { sqlite3_close(db_); }

absl::StatusOr<std::string> JobStore::NewJobId() {
  std::lock_guard lock(mu_);
  Statement bump(db_,
                 "UPDATE meta SET value = value + 1 WHERE key = 'last_job_number' RETURNING value");
  if (!bump.Step()) {
    RETURN_IF_ERROR(bump.status("new job id"));
    return absl::InternalError("new job id: the counter row is missing");
  }
  const int64_t n = bump.Int(0);
  RETURN_IF_ERROR(bump.Run("new job id"));  // finishes the statement, committing it
  return absl::StrCat("job-", n);
}

absl::Status JobStore::Put(const v1::Job& job) {
  if (job.id().empty()) return absl::InvalidArgumentError("a job record needs an id");
  std::lock_guard lock(mu_);
  // An upsert rather than INSERT OR REPLACE: replacing would delete the row and give it a new seq,
  // moving the job to the end of List().
  return Statement(db_,
                   "INSERT INTO jobs (id, state, created, record) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                   "created = excluded.created, record = excluded.record")
      .Bind(1, job.id())
      .Bind(2, static_cast<int64_t>(job.state()))
      .Bind(3, job.created_unix())
      .BindBlob(4, job.SerializeAsString())
      .Run(absl::StrCat("put job ", job.id()));
}

absl::StatusOr<v1::Job> JobStore::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  Statement get(db_, "SELECT record FROM jobs WHERE id = ?1");
  get.Bind(1, id);
  if (!get.Step()) {
    RETURN_IF_ERROR(get.status(absl::StrCat("get job ", id)));
    return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  }
  return ParseRecord<v1::Job>(get.Blob(0), absl::StrCat("job ", id));
}

absl::StatusOr<std::vector<v1::Job>> JobStore::List() {
  std::lock_guard lock(mu_);
  Statement list(db_, "SELECT record FROM jobs ORDER BY seq");
  std::vector<v1::Job> jobs;
  while (list.Step()) {
    ASSIGN_OR_RETURN(auto job, ParseRecord<v1::Job>(list.Blob(0), "a job"));
    jobs.push_back(std::move(job));
  }
  RETURN_IF_ERROR(list.status("list jobs"));
  return jobs;
}

absl::Status JobStore::ExistsLocked(const std::string& id) {
  Statement exists(db_, "SELECT 1 FROM jobs WHERE id = ?1");
  exists.Bind(1, id);
  if (exists.Step()) return absl::OkStatus();
  RETURN_IF_ERROR(exists.status(absl::StrCat("get job ", id)));
  return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
}

absl::Status JobStore::AppendMetrics(const std::string& id, const v1::StepMetrics& metrics) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(ExistsLocked(id));
  return Statement(db_, "INSERT OR REPLACE INTO metrics (job_id, step, record) VALUES (?1, ?2, ?3)")
      .Bind(1, id)
      .Bind(2, metrics.step())
      .BindBlob(3, metrics.SerializeAsString())
      .Run(absl::StrCat("metrics of job ", id, " step ", metrics.step()));
}

absl::StatusOr<std::vector<v1::StepMetrics>> JobStore::Metrics(const std::string& id) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(ExistsLocked(id));
  Statement list(db_, "SELECT record FROM metrics WHERE job_id = ?1 ORDER BY step");
  list.Bind(1, id);
  std::vector<v1::StepMetrics> out;
  while (list.Step()) {
    ASSIGN_OR_RETURN(auto m, ParseRecord<v1::StepMetrics>(list.Blob(0), "metrics of job " + id));
    out.push_back(std::move(m));
  }
  RETURN_IF_ERROR(list.status(absl::StrCat("metrics of job ", id)));
  return out;
}

absl::Status JobStore::TruncateMetrics(const std::string& id, int64_t after_step) {
  std::lock_guard lock(mu_);
  return Statement(db_, "DELETE FROM metrics WHERE job_id = ?1 AND step > ?2")
      .Bind(1, id)
      .Bind(2, after_step)
      .Run(absl::StrCat("truncate metrics of job ", id));
}

}  // namespace flywheel::learner
