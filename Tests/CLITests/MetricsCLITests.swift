import Foundation
import TestSupport
import Testing

/// Runs the built `fairtune metrics` on the fixture CSVs and on bad input.
@Suite final class MetricsCLITests {
    private let fixtures = TestSupport.fixtures("metrics")
    private let work: URL

    init() throws {
        work = try TestSupport.makeTemporaryDirectory("metrics-cli")
    }

    deinit {
        try? FileManager.default.removeItem(at: work)
    }

    private func fixtureCase(_ name: String) throws -> [String: Any] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("cases.json"))) as! [String: Any]
        return try #require((root["cases"] as! [[String: Any]]).first { $0["name"] as? String == name }, "no case \(name)")
    }

    private func value(_ entry: Any?) -> Double? { (entry as? [String: Any])?["value"] as? Double }

    /// Whether both values are present and agree to 1e-9 (the fixture values are sklearn's and
    /// fairlearn's doubles; ours are computed in double precision too).
    private func agree(_ ours: Double?, _ reference: Double?) -> Bool {
        guard let ours, let reference else { return false }
        return abs(ours - reference) <= 1e-9
    }

    @Test func binaryCSVReportMatchesScikitLearnAndFairlearn() throws {
        let out = work.appendingPathComponent("m.json")
        let result = try TestSupport.fairtune(["metrics", "--predictions", fixtures.appendingPathComponent("predictions_binary.csv").path,
                                               "--label-column", "label", "--score-column", "score",
                                               "--group-column", "sex", "--group-column", "age", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("worst-group AUC"), "\(result.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [String: Any]
        #expect(report["format"] as? String == "fairtune-metrics")
        #expect(report["version"] as? Int == 1)
        let expected = try fixtureCase("random_binary_two_attributes")["expected"] as! [String: Any]
        let overall = report["overall"] as! [String: Any], expectedOverall = expected["overall"] as! [String: Any]
        for key in ["auc", "accuracy", "balanced_accuracy", "tpr", "fpr", "selection_rate", "loss", "ece"] {
            #expect(agree(value(overall[key]), value(expectedOverall[key])), "\(key)")
        }
        let attributes = report["attributes"] as! [[String: Any]]
        let expectedAttributes = expected["attributes"] as! [[String: Any]]
        #expect(attributes.map { $0["name"] as! String } == ["sex", "age"])
        for (a, e) in zip(attributes, expectedAttributes) {
            #expect(a["unknown_group_samples"] as? Int == e["unknown_group_samples"] as? Int)
            for (g, eg) in zip(a["groups"] as! [[String: Any]], e["groups"] as! [[String: Any]]) {
                #expect(g["name"] as? String == eg["name"] as? String)
                #expect(agree(value(g["auc"]), value(eg["auc"])), "\(g["name"] ?? "?")")
            }
            let fairness = a["fairness"] as! [String: Any], ef = e["fairness"] as! [String: Any]
            #expect(agree(value(fairness["equalized_odds_difference"]), ef["eod_worst_case"] as? Double))
            #expect(agree(value(fairness["equalized_odds_ratio_mean"]), ef["eor_mean"] as? Double))
            #expect(agree(value(fairness["demographic_parity_difference"]), ef["dpd"] as? Double))
            #expect(agree(value(fairness["demographic_parity_ratio"]), ef["dpr"] as? Double))
        }
    }

    @Test func multiClassCSVReportsUndefinedGroupAUCWithReason() throws {
        let out = work.appendingPathComponent("m.json")
        let result = try TestSupport.fairtune(["metrics", "--predictions", fixtures.appendingPathComponent("predictions_multiclass.csv").path,
                                               "--score-column", "p0", "--score-column", "p1", "--score-column", "p2",
                                               "--group-column", "g", "--bootstrap", "20", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [String: Any]
        let expected = try fixtureCase("multiclass_probabilities")["expected"] as! [String: Any]
        #expect(agree(value((report["overall"] as! [String: Any])["auc"]), value((expected["overall"] as! [String: Any])["auc"])))
        let groups = (report["attributes"] as! [[String: Any]])[0]["groups"] as! [[String: Any]]
        let c = groups[2]["auc"] as! [String: Any]
        #expect(c["value"] is NSNull)
        #expect(c["undefined"] as? String == "missing_classes")
        let summary = ((report["attributes"] as! [[String: Any]])[0]["summaries"] as! [String: Any])["auc"] as! [String: Any]
        #expect((summary["worst"] as! [String: Any])["undefined"] as? String == "group_undefined")
        let intervals = (report["bootstrap"] as! [String: Any])["intervals"] as! [[String: Any]]
        #expect(intervals.first { $0["objective"] as? String == "worst_group_auc" }?["defined_resamples"] as? Int == 0)
    }

    @Test func twoScoreColumnsAreBinaryWithColumnTwoAsClassOne() throws {
        let binary = try String(contentsOf: fixtures.appendingPathComponent("predictions_binary.csv"), encoding: .utf8)
        var lines = ["label,q0,q1,sex"]
        for line in binary.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let p = Double(f[2])!
            lines.append("\(f[1]),\(1 - p),\(p),\(f[3])")
        }
        let path = try writeCSV(lines.joined(separator: "\n") + "\n")
        let out = work.appendingPathComponent("two.json")
        let result = try TestSupport.fairtune(["metrics", "--predictions", path, "--score-column", "q0", "--score-column", "q1",
                                               "--group-column", "sex", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [String: Any]
        #expect(report["classes"] as? Int == 2)
        let expected = try fixtureCase("random_binary_two_attributes")["expected"] as! [String: Any]
        for key in ["auc", "accuracy", "tpr", "loss"] {
            #expect(agree(value((report["overall"] as! [String: Any])[key]), value((expected["overall"] as! [String: Any])[key])), "\(key)")
        }
    }

    private func writeCSV(_ text: String) throws -> String {
        let url = work.appendingPathComponent("p.csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func badInputNamesFileLineAndColumnAndWritesNothing() throws {
        let out = work.appendingPathComponent("m.json").path
        let cases: [(String, [String], [String])] = [
            ("label,score,sex\n1,0.9,F\n0,0.1,M\n", ["--group-column", "site"], ["p.csv", "no column 'site'", "label, score, sex"]),
            ("label,score,sex\n1,0.9,F\n0,abc,M\n", ["--group-column", "sex"], ["p.csv, line 3, column 'score'", "'abc'", "finite number"]),
            ("label,score,sex\n1,0.9,F\n2,0.1,M\n", ["--group-column", "sex"], ["p.csv, line 3, column 'label'", "'2'", "0 or 1"]),
            ("label,score,sex\n1,0.9,F\n0,1.5,M\n", ["--group-column", "sex"], ["p.csv, line 3, column 'score'", "probability"]),
            ("label,score,sex\n1,0.9,F\n0,0.1\n", ["--group-column", "sex"], ["p.csv, line 3", "2 fields", "header has 3"]),
            ("label,score,sex\n1,0.9,\n0,0.1,M\n", ["--group-column", "sex"], ["p.csv, line 2, column 'sex'", "-1"]),
        ]
        for (csv, options, messages) in cases {
            let path = try writeCSV(csv)
            let result = try TestSupport.fairtune(["metrics", "--predictions", path, "--out", out] + options)
            #expect(result.status == 1, "\(csv): \(result.stderr)")
            for m in messages { #expect(result.stderr.contains(m), "expected '\(m)' in: \(result.stderr)") }
            #expect(!FileManager.default.fileExists(atPath: out), "no report written on failure")
        }
        let missing = try TestSupport.fairtune(["metrics", "--predictions", work.appendingPathComponent("absent.csv").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("absent.csv: cannot read"), "\(missing.stderr)")
    }

    @Test func usageErrorsExitWithStatus2() throws {
        let path = try writeCSV("label,score\n1,0.9\n0,0.1\n")
        for arguments in [["metrics", "--predictions", path, "--no-such-option"],
                          ["metrics", "--predictions", path, "--threshold", "1.5"],
                          ["metrics", "--predictions", path, "--scores", "odds"],
                          ["metrics"]] {
            let result = try TestSupport.fairtune(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
        }
    }

    /// Interval names of any length stay apart from their values (`worst_group_auc [age_binary]`
    /// is exactly as long as the old fixed column was).
    @Test func bootstrapTableSeparatesLongNamesFromValues() throws {
        let binary = try String(contentsOf: fixtures.appendingPathComponent("predictions_binary.csv"), encoding: .utf8)
        let path = try writeCSV(binary.replacingOccurrences(of: "id,label,score,sex,age\n", with: "id,label,score,sex,age_binary\n"))
        let result = try TestSupport.fairtune(["metrics", "--predictions", path, "--group-column", "age_binary", "--bootstrap", "5"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").drop { !$0.hasPrefix("bootstrap:") }.dropFirst().filter { $0.hasPrefix("  ") }
        #expect(rows.contains { $0.contains("worst_group_auc [age_binary]") }, "\(result.stdout)")
        for row in rows {
            #expect(row.range(of: #"^  \S.*\S  +(n/a|-?[0-9])"#, options: .regularExpression) != nil, "no gap before the value: \(row)")
        }
    }

    @Test func benchMetricsRuns() throws {
        let result = try TestSupport.fairtune(["bench", "metrics", "--samples", "2000", "--groups", "3", "--resamples", "5"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("all metrics, no bootstrap:"), "\(result.stdout)")
        #expect(result.stdout.contains("5 resamples"), "\(result.stdout)")
    }
}
