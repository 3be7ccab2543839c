// Run reports: plots (SVG, PNG) and the self-contained HTML page.
export { writeRunReport, type RunReportArgs, type RunReportFiles, type PlotInfo } from './run-report.js';
export { renderReportHtml, type ReportPage, type HtmlPlot, type HtmlRank } from './html.js';
export { scatterPlot, residualPlot, histogramPlot, timelinePlot, timelineSegments, renderSvg, svgToPng, DEFAULT_MAX_POINTS, type PlotSpec, type RankTimes } from './plots.js';
export { loadRun, loadRunDir, localRunFiles, storedRunFiles, rankTimes, type LoadedRun, type RunFiles } from './load-run.js';
export { handleReport } from './report-task.js';
