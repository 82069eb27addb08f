"""The workbench's user-interface text in Chinese and English.

Every label, button and message the panels show comes from :data:`MESSAGES` through a
:class:`Translator`, so a panel never hard-codes text and a missing translation is a test
failure, not a blank button. The language defaults to Chinese under a Chinese locale
(``RASV_LANG`` overrides it), English otherwise.

Example:
    >>> t = Translator("en")
    >>> t("tab.review")
    'Review'
    >>> Translator("zh")("tab.review")
    '结果评测'
    >>> t("clips.count", n=3)
    '3 clips'
"""

from __future__ import annotations

import contextlib
import locale
import os
import string

from rasv.errors import InvalidInput

#: Languages the interface speaks.
LANGS: tuple[str, ...] = ("zh", "en")

#: Environment variable that forces the interface language.
LANG_ENV = "RASV_LANG"

# key -> (zh, en). Placeholders use str.format names and must match in both languages.
_CATALOGUE: dict[str, tuple[str, str]] = {
    # -- shell ---------------------------------------------------------------------------
    "app.title": ("rasv 参考音频工作台", "rasv reference-audio workbench"),
    "app.workspace": ("工作区", "Workspace"),
    "tab.clips": ("参考音频", "Clips"),
    "tab.classify": ("分类", "Classify"),
    "tab.split": ("分割", "Split"),
    "tab.tasks": ("推理任务", "Tasks"),
    "tab.run": ("运行", "Run"),
    "tab.review": ("结果评测", "Review"),
    "tab.longtext": ("长文测试", "Long text"),
    "tab.products": ("成品管理", "Products"),
    "tab.engines": ("推理引擎", "Engines"),
    "tab.loading": ("加载中…", "Loading…"),
    "role.label": ("角色", "Role"),
    "role.placeholder": ("分类-名称，如 男性-张三", "category-name, e.g. 男性-张三"),
    "role.switch": ("切换", "Switch"),
    "role.create": ("创建", "Create"),
    "role.none": ("还没有角色：输入“分类-名称”后点击创建。",
                  "No role yet: type 'category-name' and press Create."),
    "role.created": ("已创建角色 {label}", "Created role {label}"),
    "role.switched": ("当前角色：{label}", "Current role: {label}"),
    "role.summary": ("{n_clips} 条参考音频（{n_valid} 条 3–10 秒），{n_tasks} 个任务",
                     "clips: {n_clips} ({n_valid} within 3–10 s) · tasks: {n_tasks}"),
    "notice.error": ("出错了：{message}", "Error: {message}"),
    "notice.dismiss": ("关闭", "Dismiss"),
    # -- player and keys -----------------------------------------------------------------
    "player.play": ("播放", "Play"),
    "player.pause": ("暂停", "Pause"),
    "player.empty": ("未选择音频", "Nothing loaded"),
    "keys.hint": ("快捷键：空格 播放/暂停 · j/k 下一条/上一条 · 0–5 打分",
                  "Keys: space play/pause · j/k next/previous · 0–5 score"),
    # -- tables --------------------------------------------------------------------------
    "table.page": ("第 {page}/{pages} 页，共 {total} 条", "Page {page}/{pages}, {total} rows"),
    "table.prev": ("上一页", "Previous"),
    "table.next": ("下一页", "Next"),
    "table.page_size": ("每页", "Per page"),
    "table.empty": ("没有数据", "Nothing to show"),
    "action.play": ("播放", "Play"),
    "action.delete": ("删除", "Delete"),
    "action.confirm_delete": ("确认删除？", "Delete?"),
    "action.search": ("搜索", "Search"),
    "action.refresh": ("刷新", "Refresh"),
    "action.save": ("保存", "Save"),
    "action.cancel": ("取消", "Cancel"),
    "action.add": ("新增", "Add"),
    "filter.all": ("全部", "All"),
    "filter.yes": ("是", "Yes"),
    "filter.no": ("否", "No"),
    # -- clips ---------------------------------------------------------------------------
    "clips.count": ("{n} 条参考音频", "{n} clips"),
    "clips.col.name": ("名称", "Name"),
    "clips.col.category": ("分类", "Category"),
    "clips.col.text": ("文本", "Transcript"),
    "clips.col.lang": ("语言", "Language"),
    "clips.col.duration": ("时长", "Duration"),
    "clips.col.valid": ("3–10 秒", "3–10 s"),
    "clips.col.calibrated": ("已校对", "Checked"),
    "clips.col.remark": ("备注", "Remark"),
    "clips.col.score": ("评分", "Score"),
    "clips.col.actions": ("操作", "Actions"),
    "clips.filter.name": ("名称包含", "Name contains"),
    "clips.filter.text": ("文本包含", "Transcript contains"),
    "clips.filter.category": ("分类", "Category"),
    "clips.filter.valid": ("有效", "Valid"),
    "clips.filter.calibrated": ("已校对", "Checked"),
    "clips.updated": ("已保存 {name}", "Saved {name}"),
    "clips.deleted": ("已删除 {name}", "Deleted {name}"),
    "clips.related": ("关联结果", "Takes"),
    "clips.action.classify": ("比对", "Similar"),
    "clips.action.split": ("分割", "Split"),
    "clips.no_role": ("请先选择或创建角色。", "Choose or create a role first."),
    # -- import --------------------------------------------------------------------------
    "import.title": ("导入 .list", "Import a .list"),
    "import.path": (".list 文件路径", ".list file path"),
    "import.path_map": ("路径替换", "Path map"),
    "import.on_duplicate": ("同名文件", "Same name"),
    "import.dup.skip": ("跳过", "Skip"),
    "import.dup.overwrite": ("覆盖", "Overwrite"),
    "import.dup.rename": ("重命名", "Rename"),
    "import.category": ("导入到分类", "Into category"),
    "import.calibrated": ("已人工校对", "Already checked by hand"),
    "import.run": ("导入", "Import"),
    "import.report": ("新增 {added}，覆盖 {overwritten}，跳过 {skipped}",
                      "added {added}, overwritten {overwritten}, skipped {skipped}"),
    # The analysis' reasons, by Flag.message (rasv.analysis.suspicion); the en texts are the
    # library's own English sentences.
    "analysis.reason.clipped": ("{pct:.2f}% 的采样点削波", "{pct:.2f} % of samples clipped"),
    "analysis.reason.clipped_at": ("{pct:.2f}% 的采样点削波，位于 {where}",
                                   "{pct:.2f} % of samples clipped at {where}"),
    "analysis.reason.plateau": ("{pct:.1f}% 的采样点顶到最大电平",
                                "{pct:.1f} % of samples pressed against the loudest level"),
    "analysis.reason.burst": ("{n} 处宽频爆音，位于 {where}", "{n} broadband burst at {where}"),
    "analysis.reason.bursts": ("{n} 处宽频爆音，位于 {where}", "{n} broadband bursts at {where}"),
    "analysis.reason.hum": ("{hz:g} Hz 交流声，比周围高 {db:.0f} dB",
                            "{hz:g} Hz hum, {db:.0f} dB over its surroundings"),
    "analysis.reason.pause_noise": ("词间噪声 {db:.0f} dBFS", "noise between words at {db:.0f} dBFS"),
    "analysis.reason.dnsmos_bak": ("DNSMOS 背景分 {value:.2f}（任务中位数 {median:.2f}）",
                                   "DNSMOS background {value:.2f} (task median {median:.2f})"),
    "analysis.reason.dnsmos_sig": ("DNSMOS 语音质量 {value:.2f}（任务中位数 {median:.2f}）",
                                   "DNSMOS signal quality {value:.2f} (task median {median:.2f})"),
    "analysis.reason.repetition": ("{first:.1f} 秒处的内容在 {second:.1f} 秒处又出现（相似度 {similarity:.2f}）",
                                   "{first:.1f} s sounds again at {second:.1f} s (similarity {similarity:.2f})"),
    "analysis.reason.slow": ("偏慢：每字 {spu:.2f} 秒，z = {z:+.1f}",
                             "slow: {spu:.2f} s per character, z = {z:+.1f}"),
    "analysis.reason.slow_among": ("偏慢：每字 {spu:.2f} 秒，在该文本的 {n} 条音频中 z = {z:+.1f}",
                                   "slow: {spu:.2f} s per character, z = {z:+.1f} among {n} takes of this text"),
    "analysis.reason.fast": ("偏快：每字 {spu:.2f} 秒，z = {z:+.1f}",
                             "fast: {spu:.2f} s per character, z = {z:+.1f}"),
    "analysis.reason.fast_among": ("偏快：每字 {spu:.2f} 秒，在该文本的 {n} 条音频中 z = {z:+.1f}",
                                   "fast: {spu:.2f} s per character, z = {z:+.1f} among {n} takes of this text"),
    "analysis.reason.long_pause": ("{at:.1f} 秒处停顿 {s:.1f} 秒", "{s:.1f} s pause at {at:.1f} s"),
    "analysis.reason.lead_silence": ("语音前有 {s:.1f} 秒静音", "{s:.1f} s of silence before the speech"),
    "analysis.reason.trail_silence": ("语音后有 {s:.1f} 秒静音", "{s:.1f} s of silence after the speech"),
    "analysis.reason.end_under": ("最后 30 毫秒比语音电平低 {db:.0f} dB，没有自然衰减",
                                  "the last 30 ms are {db:.0f} dB under the speech level, with no decay"),
    "analysis.reason.end_over": ("最后 30 毫秒比语音电平高 {db:.0f} dB，没有自然衰减",
                                 "the last 30 ms are {db:.0f} dB over the speech level, with no decay"),
    "analysis.reason.asr_extra": ("识别错误率 {rate:.0%}，其中 {share:.0%} 为多出的字（听到“{heard}”）",
                                  "ASR error rate {rate:.0%}, {share:.0%} extra (heard \u201c{heard}\u201d)"),
    "analysis.reason.asr_extra_units": (
        "识别错误率 {rate:.0%}，其中 {share:.0%} 为多出的字：{units}（听到“{heard}”）",
        "ASR error rate {rate:.0%}, {share:.0%} extra: {units} (heard \u201c{heard}\u201d)"),
    "analysis.reason.asr_missing": ("识别错误率 {rate:.0%}，其中 {share:.0%} 为漏读的字（听到“{heard}”）",
                                    "ASR error rate {rate:.0%}, {share:.0%} missing (heard \u201c{heard}\u201d)"),
    "analysis.reason.asr_missing_units": (
        "识别错误率 {rate:.0%}，其中 {share:.0%} 为漏读的字：{units}（听到“{heard}”）",
        "ASR error rate {rate:.0%}, {share:.0%} missing: {units} (heard \u201c{heard}\u201d)"),
    "analysis.reason.asr_wrong": ("识别错误率 {rate:.0%}，其中 {share:.0%} 为读错的字（听到“{heard}”）",
                                  "ASR error rate {rate:.0%}, {share:.0%} wrong (heard \u201c{heard}\u201d)"),
    "analysis.reason.asr_wrong_units": (
        "识别错误率 {rate:.0%}，其中 {share:.0%} 为读错的字：{units}（听到“{heard}”）",
        "ASR error rate {rate:.0%}, {share:.0%} wrong: {units} (heard \u201c{heard}\u201d)"),
    "analysis.reason.sim_ref": ("与参考音频的音色相似度 {value:.2f}（任务中位数 {median:.2f}）",
                                "speaker similarity to its reference clip {value:.2f} (task median {median:.2f})"),
    "analysis.reason.sim_centroid": ("与角色整体的音色相似度 {value:.2f}（任务中位数 {median:.2f}）",
                                     "speaker similarity to the role {value:.2f} (task median {median:.2f})"),
    "import.role": ("导入到角色", "Into role"),
    "import.no_role_created": ("没有导入任何片段，未创建角色 “{label}”。",
                               "Nothing was imported, so no role “{label}” was created."),
    "import.skipped_line": ("第 {line} 行：{reason}", "line {line}: {reason}"),
    "import.bad_map": ("路径替换第 {n} 行应写成 “旧前缀 => 新前缀”",
                       "path map line {n} must read 'old prefix => new prefix'"),
    # -- categories, aux, texts ------------------------------------------------------------
    "categories.title": ("分类", "Categories"),
    "categories.new": ("新分类名称", "New category name"),
    "categories.n_clips": ("条数", "Clips"),
    "categories.created": ("已创建分类 {name}", "Created category {name}"),
    "aux.title": ("融合音频池", "Aux (fusion) pool"),
    "aux.add_selected": ("把选中的参考音频加入融合池", "Add selected clips to the pool"),
    "aux.added": ("已加入 {n} 条", "Added {n}"),
    "aux.col.role": ("来源角色", "From role"),
    "texts.title": ("文本库", "Text library"),
    "texts.content": ("文本内容", "Text"),
    "texts.long": ("长文本", "Long text"),
    "texts.added": ("已加入文本库", "Added to the text library"),
    "texts.col.category": ("分类", "Category"),
    "texts.col.lang": ("语言", "Language"),
    "texts.col.content": ("内容", "Content"),
    "texts.col.long": ("长文", "Long"),
    # -- tasks -------------------------------------------------------------------------
    "tasks.col.name": ("任务名", "Task"),
    "tasks.col.engine": ("引擎", "Engine"),
    "tasks.col.varies": ("比较变量", "Varies"),
    "tasks.col.status": ("状态", "Status"),
    "tasks.col.progress": ("进度", "Progress"),
    "tasks.col.conclusion": ("结论", "Conclusion"),
    "tasks.new": ("创建任务", "New task"),
    "tasks.name": ("任务名", "Name"),
    "tasks.default_name": ("新任务", "new task"),
    "tasks.engine": ("引擎类型", "Engine kind"),
    "tasks.clips": ("参考音频", "Reference clips"),
    "tasks.by_category": ("按分类", "By category"),
    "tasks.by_clip": ("逐条选择", "One by one"),
    "tasks.category_option": ("{name}（{n}/{total} 条 3–10 秒）",
                              "{name} ({n} of {total} within 3–10 s)"),
    "tasks.texts": ("文本", "Texts"),
    "tasks.extra_texts": ("其他文本", "More texts"),
    "tasks.extra_texts_hint": ("每行一句；语言自动识别", "one per line; language guessed"),
    "tasks.fixed": ("固定参数", "Fixed parameters"),
    "tasks.vary": ("比较变量", "Vary"),
    "tasks.vary_hint": ("每个变量的取值交叉组合；模型填 id，融合音频组用 ; 分隔（如 1+2; 3）",
                        "values are crossed; models by id, aux sets separated by ; (e.g. 1+2; 3)"),
    "tasks.add_dimension": ("添加变量", "Add a dimension"),
    "tasks.repeats": ("每组重复", "Repeats"),
    "tasks.force": ("保留 3–10 秒以外的音频和模型会忽略的参数（给出警告）",
                    "Keep clips outside 3–10 s and ignored parameters (with warnings)"),
    "tasks.take_count": ("将生成 {n} 条结果音频", "{n} takes"),
    "tasks.create": ("创建任务", "Create task"),
    "tasks.created": ("已创建任务 #{id} {name}：{n} 条结果音频待推理",
                      "Created task #{id} {name}: {n} takes to make"),
    "tasks.deleted": ("已删除任务 #{id}（{detail}）", "Deleted task #{id} ({detail})"),
    # -- run ---------------------------------------------------------------------------
    "run.task": ("任务", "Task"),
    "run.retry_failed": ("重试失败的结果", "Retry failed takes"),
    "run.start": ("开始 / 继续", "Start / resume"),
    "run.cancel": ("取消", "Cancel"),
    "run.to_review": ("去评测", "Review"),
    "run.engines": ("推理引擎", "Engines"),
    "run.no_engine": ("没有可用的推理引擎：在“推理引擎”页连接一个。",
                      "No engine: connect one in the Engines tab."),
    "run.no_task": ("这个角色还没有任务：在“推理任务”页创建。",
                    "This role has no task yet: create one in the Tasks tab."),
    "run.busy": ("已有一个运行在进行中。", "A run is already going."),
    "run.started": ("任务 #{task} 开始运行", "Task #{task} started"),
    "run.cancelling": ("正在取消：进行中的请求完成后停止。",
                       "Cancelling: stopping after the requests in flight."),
    "run.eta": ("，预计还需 {s} 秒", ", about {s} s left"),
    "run.progress": ("已完成 {made}/{todo}（失败 {failed}），之前已完成 {already}，用时 {s} 秒",
                     "{made}/{todo} made ({failed} failed), {already} done before, {s} s"),
    "run.counts": ("{done}/{total} 已完成，{failed} 失败，{todo} 待推理（{status}）",
                   "{done}/{total} done, {failed} failed, {todo} to make ({status})"),
    "run.finished": ("运行结束：{summary}", "Run finished: {summary}"),
    "run.failures": ("{n} 条失败", "{n} failed"),
    "run.state.idle": ("空闲", "idle"),
    "run.state.loading": ("加载模型", "loading weights"),
    "run.state.working": ("推理中", "synthesizing"),
    "run.state.down": ("不可用", "down"),
    "run.col.engine": ("引擎", "Engine"),
    "run.col.state": ("状态", "State"),
    "run.col.done": ("完成", "Done"),
    "run.col.failed": ("失败", "Failed"),
    "run.col.error": ("最近的错误", "Last error"),
    # -- engines -----------------------------------------------------------------------
    "engines.col.name": ("引擎", "Engine"),
    "engines.col.kind": ("类型", "Kind"),
    "engines.col.state": ("状态", "State"),
    "engines.col.detail": ("详情", "Details"),
    "engines.col.version": ("版本", "Version"),
    "engines.col.label": ("名称", "Label"),
    "engines.col.file": ("文件", "File"),
    "engines.col.exists": ("文件在", "On disk"),
    "engines.state.ok": ("正常", "ok"),
    "engines.state.down": ("不可用", "down"),
    "engines.check": ("检查", "Check"),
    "engines.remove": ("移除", "Remove"),
    "engines.url": ("api_v2 地址", "api_v2 URL"),
    "engines.connect": ("连接", "Connect"),
    "engines.add_espeak": ("添加离线 espeak 引擎（演示用）", "Add the offline espeak engine (demo)"),
    "engines.start_title": ("从 GPT-SoVITS 文件夹启动 api_v2", "Start api_v2 from a GPT-SoVITS folder"),
    "engines.gsv_root": ("GPT-SoVITS 文件夹", "GPT-SoVITS folder"),
    "engines.python": ("Python 解释器", "Python interpreter"),
    "engines.python_hint": ("默认：整合包的 runtime/python", "default: the bundle's runtime/python"),
    "engines.device": ("设备", "Device"),
    "engines.port": ("端口", "Port"),
    "engines.start": ("启动", "Start"),
    "engines.need_root": ("请填写 GPT-SoVITS 文件夹。", "Give the GPT-SoVITS folder."),
    "engines.starting": ("正在启动 {url}（加载模型需要一些时间）…",
                         "Starting {url} (loading the models takes a while) …"),
    "engines.started": ("{url} 已就绪", "{url} is ready"),
    "engines.added": ("已添加引擎 {name}", "Added engine {name}"),
    "engines.unreachable": ("无法连接 {url}：{detail}", "Cannot use {url}: {detail}"),
    "engines.checkpoints": ("模型（GPT / SoVITS 权重）", "Checkpoints (GPT / SoVITS weights)"),
    "engines.scan_root": ("扫描文件夹", "Scan folder"),
    "engines.scan": ("扫描", "Scan"),
    "engines.scanned": ("找到 {n} 个模型，跳过 {skipped} 个文件",
                        "Found {n} checkpoints, skipped {skipped} files"),
    # -- review --------------------------------------------------------------------------
    "review.task": ("任务", "Task"),
    "review.empty": ("没有符合条件的结果音频", "No takes match"),
    "review.z_hint": ("同一文本内时长的 z 分数：偏长可能复读或停顿，偏短可能吞字",
                      "duration z-score within the same text: long may repeat or pause, "
                      "short may swallow words"),
    "review.no_task": ("这个角色还没有运行过的任务。", "This role has no task with takes yet."),
    "review.group_by": ("分组顺序", "Group by"),
    "review.sort": ("排序", "Sort by"),
    "review.desc": ("降序", "Descending"),
    "review.blind": ("盲听", "Blind"),
    "review.reveal": ("揭晓参数", "Reveal"),
    "review.scored": ("已打分：{stars} 星", "Scored {stars} stars"),
    "review.tags": ("标签", "Tags"),
    "review.remark": ("备注", "Remark"),
    "review.position": ("第 {i}/{n} 条", "Take {i} of {n}"),
    "review.conclusion": ("结论", "Conclusion"),
    "review.unscored": ("未打分", "Not scored"),
    "review.dim.clip": ("参考音频", "Clip"),
    "review.dim.text": ("文本", "Text"),
    "review.dim.param": ("参数", "Parameter"),
    "review.sort.duration": ("时长", "Duration"),
    "review.sort.score": ("评分", "Score"),
    "review.sort.param": ("参数", "Parameter"),
    "review.sort.dur_z": ("时长偏离（z）", "Duration z-score"),
    "review.sort.plan": ("任务顺序", "Task order"),
    "review.sort.suspicion": ("先听可疑的（自动分析）", "Listen first (analysis)"),
    "review.analyse": ("自动分析", "Analyse"),
    "review.analysing": ("分析中 {done}/{total}", "Analysing {done}/{total}"),
    "review.no_groups": ("不分组", "No groups"),
    "review.unscored_only": ("只看未打分", "Unscored only"),
    "review.autoplay": ("切换时自动播放", "Play on move"),
    "review.advance": ("打分后跳到下一条", "Next after scoring"),
    "review.detail": ("大图", "Large spectrogram"),
    "review.keep_name": ("成品名称", "Product name"),
    "review.keep": ("把当前结果音频加入成品", "Keep the focused take as a product"),
    "review.kept": ("已加入成品：{name}", "Kept as product {name}"),
    "review.to_longtext": ("用这条结果做长文测试", "Try it on a long text"),
    # -- review: listen less (issue 16) ---------------------------------------------------
    "review.sort.ask": ("问我下一条（最能定出最佳参考）", "Ask me next"),
    "review.predicted": ("预测 {stars:.1f} 星（{low:.1f}–{high:.1f}）：{drivers}",
                         "Predicted {stars:.1f} stars ({low:.1f}–{high:.1f}): {drivers}"),
    "review.driver.clip": ("参考音频 {name}", "clip {name}"),
    "review.driver.dim.models": ("模型", "models"),
    "review.driver.dim.text": ("文本", "text"),
    "review.driver.clip_metrics": ("参考音频的各项指标", "clip metrics"),
    "review.driver.not_analysed": ("未分析", "not analysed"),
    "review.driver.metric.dur_z": ("时长偏离", "duration z"),
    "review.driver.metric.pace_z": ("语速偏离", "pace z"),
    "review.driver.metric.suspicion": ("可疑程度", "suspicion"),
    "review.driver.metric.promise": ("看好程度", "promise"),
    "review.driver.metric.dnsmos_ovrl": ("DNSMOS 总分", "DNSMOS overall"),
    "review.driver.metric.dnsmos_sig": ("DNSMOS 语音质量", "DNSMOS speech"),
    "review.driver.metric.dnsmos_bak": ("DNSMOS 背景分", "DNSMOS background"),
    "review.driver.metric.sim_ref": ("与参考音频的相似度", "similarity to the clip"),
    "review.driver.metric.sim_centroid": ("与角色的相似度", "similarity to the role"),
    "review.driver.metric.cer": ("字错率", "CER"),
    "review.best.title": ("目前最佳：", "Best so far:"),
    "review.best.none": ("先给几条结果打分，rasv 才能推荐参考音频。",
                         "Score a few takes and rasv will recommend a clip."),
    "review.best.line": ("{clip}，预计 {stars:.1f} 星（{low:.1f}–{high:.1f}），最佳的可能 {p:.0%}，"
                         "已听 {heard}/{takes} 条",
                         "{clip}, about {stars:.1f} stars ({low:.1f}–{high:.1f}), {p:.0%} likely "
                         "the best, {heard}/{takes} takes heard"),
    "review.best.confident": ("有把握：它的区间高于第二名，或它至少有 95% 的可能是最佳、"
                              "或与最佳相差不到 0.4 星",
                              "Confident: its interval clears the runner-up's, or it is at least "
                              "95 % likely the best or within 0.4 stars of it"),
    "review.best.unsure": ("还不确定：按“问我下一条”继续听", "Not sure yet: keep listening with Ask me next"),
    "review.best.keep": ("把最佳参考存为成品", "Keep the best clip as a product"),
    "review.group_by_ask": ("“问我下一条”是一整列，不分组", "Ask me next is one list: no groups"),
    "review.best.already": ("这条最佳结果已经是成品：{name}", "Already kept: this take is product {name}"),
    "review.best.unheard": ("{clip} 排在最前，但它的结果一条都还没听过（已听 {heard}/{takes} 条）："
                            "按“问我下一条”先听它，听过才能存为成品",
                            "{clip} leads, but none of its takes heard yet ({heard}/{takes} "
                            "takes heard): listen with Ask me next before keeping it"),
    "review.best.too_close": ("难分高下：每条都听过了，前几名的参考音频相差太小",
                              "Too close to call: every take is heard and the leading clips are "
                              "too close to tell apart"),
    # -- demo ----------------------------------------------------------------------------
    "demo.role": ("演示-espeak", "demo-espeak"),
    # -- background jobs (panels owned by the panels branch) -----------------------------
    "job.busy": ("上一个操作还在进行，请等它完成。", "Another job is still running; wait for it."),
    # -- classify ----------------------------------------------------------------------
    "classify.backend": ("声纹模型", "Speaker model"),
    "classify.folder": ("模型文件夹", "Model folder"),
    "classify.folder_gsv": ("GPT-SoVITS 文件夹", "GPT-SoVITS folder"),
    "classify.folder_model": ("ModelScope 模型文件夹（可不填）",
                              "ModelScope model folder (optional)"),
    "classify.device": ("设备", "Device"),
    "classify.embed": ("计算声纹", "Embed the role"),
    "classify.embedding": ("计算声纹", "Embedding"),
    "classify.embedded": ("{backend}：{total} 条，新计算 {computed}，已缓存 {cached}，失败 {failed}",
                          "{backend}: {total} clips, {computed} computed, {cached} cached, "
                          "{failed} failed"),
    "classify.mode.seed": ("以种子比对", "Similar to a seed"),
    "classify.mode.cluster": ("聚类", "Clusters"),
    "classify.categories": ("比对分类", "Categories"),
    "classify.categories_hint": ("不选 = 全部分类", "none chosen = all"),
    "classify.seed": ("种子音频", "Seed clip"),
    "classify.need_seed": ("请先选择种子音频。", "Choose a seed clip first."),
    "classify.compare": ("开始比对", "Compare"),
    "classify.comparing": ("比对中", "Comparing"),
    "classify.compared": ("已将 {n} 条音频与 {seed} 比对", "Compared {n} clips with {seed}"),
    "classify.histogram_title": ("与 {seed} 的相似度（点击柱子跳到该区间）",
                                 "Similarity to {seed} (click a bar to jump to it)"),
    "classify.bin": ("区间", "Bin"),
    "classify.bin_empty": ("{label} 区间没有音频", "No clip scores in {label}"),
    "classify.jumped": ("{label} 区间：{n} 条，从第 {rank} 名开始",
                        "Bin {label}: {n} clips from rank {rank}"),
    "classify.col.rank": ("排名", "Rank"),
    "classify.col.score": ("相似度", "Score"),
    "classify.use_threshold": ("设为分割值", "Threshold"),
    "classify.use_seed": ("作为种子", "As seed"),
    "classify.threshold": ("分割值", "Threshold"),
    "classify.target": ("目标分类（可新建）", "Target category (or new)"),
    "classify.move": ("移动 ≥ 分割值的音频", "Move clips ≥ threshold"),
    "classify.would_move": ("{n} 条得分 ≥ {threshold}", "{n} clips score ≥ {threshold}"),
    "classify.need_target": ("请填写目标分类。", "Give the category to move the clips into."),
    "classify.need_compare": ("请先与种子比对。", "Compare with a seed first."),
    "classify.moved": ("已把 {n} 条音频移到 {category}", "Moved {n} clips into {category}"),
    "classify.method.agglomerative": ("按距离阈值", "By threshold"),
    "classify.method.auto": ("自动（近邻）", "Automatic (neighbours)"),
    "classify.method.hdbscan": ("密度（HDBSCAN）", "Density (HDBSCAN)"),
    "classify.distance": ("距离阈值", "Distance threshold"),
    "classify.distance_hint": ("模型默认值", "the model's default"),
    "classify.bad_distance": ("距离阈值应是 0 到 2 之间的数，而不是 {value}",
                              "the distance threshold must be a number between 0 and 2, "
                              "not {value}"),
    "classify.n_clusters": ("簇数（0 = 自动）", "Clusters (0 = automatic)"),
    "classify.cluster": ("聚类", "Cluster"),
    "classify.clustering": ("聚类中", "Clustering"),
    "classify.clustered": ("{n} 条音频分成 {k} 簇，{outliers} 条离群",
                           "{n} clips in {k} clusters, {outliers} outliers"),
    "classify.map_title": ("声音分布图（点击一点播放）", "Voice map (click a point to play it)"),
    "classify.outliers": ("离群", "Outliers"),
    "classify.col.size": ("条数", "Clips"),
    "classify.col.representative": ("代表音频", "Representative"),
    "classify.col.top_category": ("主要分类", "Main category"),
    "classify.col.d_cluster": ("簇内距离", "Distance"),
    "classify.col.rep": ("代表", "Representative"),
    "classify.col.outlier": ("离群", "Outlier"),
    "classify.show": ("成员", "List"),
    "classify.play_rep": ("播放", "Play"),
    "classify.assign": ("移动", "Move"),
    "classify.assign_hint": ("← 每簇“移动”按钮的目标分类", "← where a cluster's Move puts it"),
    "classify.assigned": ("第 {cluster} 簇：已把 {n} 条音频移到 {category}",
                          "Cluster {cluster}: moved {n} clips into {category}"),
    "classify.members": ("第 {cluster} 簇：{n} 条", "Cluster {cluster}: {n} clips"),
    "classify.reps": ("用各簇代表音频建任务", "Use the representatives as a task's clips"),
    "classify.reps_ids": ("代表音频 id", "Representative ids"),
    "classify.reps_sent": ("已把 {n} 条代表音频带到“推理任务”页",
                           "Took {n} representatives to the Tasks tab"),
    "classify.reps_copy": ("{n} 条代表音频的 id 在下方，可复制到任务中",
                           "The ids of {n} representatives are below, to copy into a task"),
    "classify.need_cluster": ("请先聚类。", "Cluster the role first."),
    "classify.no_clips": ("这个角色还没有参考音频：先在“参考音频”页导入。",
                          "This role has no clips yet: import some in the Clips tab."),
    # -- split -------------------------------------------------------------------------
    "split.clip": ("音频", "Clip"),
    "split.play_clip": ("播放整条", "Play all"),
    "split.info": ("{duration} 秒 · {rate} Hz · {channels} 声道 · 分类 {category}",
                   "{duration} s · {rate} Hz · {channels} ch · category {category}"),
    "split.no_clip": ("请先选择要分割的音频。", "Choose a clip to split first."),
    "split.segment": ("片段组", "Segment"),
    "split.new_segment": ("新增片段组", "New segment"),
    "split.delete_segment": ("删除片段组", "Delete segment"),
    "split.start": ("开始（秒）", "Start (s)"),
    "split.end": ("结束（秒）", "End (s)"),
    "split.length": ("时长", "Length"),
    "split.add_region": ("添加区域", "Add region"),
    "split.regions": ("区域", "Regions"),
    "split.segment_empty": ("第 {k} 组还没有区域：输入起止时间，或在波形上点击两次。",
                            "Segment {k} has no region yet: type a start and end, or click "
                            "twice on the waveform."),
    "split.segment_total": ("第 {k} 组：{n} 个区域，拼接后 {seconds} 秒",
                            "Segment {k}: regions {n}, {seconds} s joined"),
    "split.click_start": ("在波形上点击区域的起点。", "Click a region's start on the waveform."),
    "split.click_end": ("起点 {at} 秒：再点击终点。", "Start at {at} s: now click its end."),
    "split.preview": ("试听本组", "Preview segment"),
    "split.preview_label": ("第 {k} 组（{name}）", "segment {k} of {name}"),
    "split.empty_segment": ("第 {k} 组没有区域。", "segment {k} has no regions"),
    "split.split": ("分割", "Split"),
    "split.nothing": ("还没有要分割的区域。", "There is nothing to cut yet: add a region."),
    "split.done": ("已生成 {n} 条新音频：{names}（文本待填写）",
                   "Made {n} new clips: {names} (transcripts to fill in)"),
    "split.bad_time": ("时间应是秒数，而不是 {value}", "a time is a number of seconds, not {value}"),
    "split.suggestions": ("建议切分（静音处切成 3–10 秒）",
                          "Suggested cuts (3–10 s pieces cut in silences)"),
    "split.vad": ("语音检测", "VAD"),
    "split.suggest": ("建议切分", "Suggest cuts"),
    "split.suggesting": ("检测语音", "Finding speech"),
    "split.suggested": ("找到 {n} 段", "Found {n} pieces"),
    "split.no_suggestion": ("没有找到合适的切分点（没有足够长的静音），请手动标记区域。",
                            "No cut found (no silence long enough): mark the regions by hand."),
    "split.use_all": ("全部作为片段组", "Use all as segments"),
    "split.to_segment": ("加入本组", "Add to segment"),
    "split.as_segment": ("作为新组", "As new segment"),
    "split.children": ("从这条音频分割出的 {n} 条", "{n} clips cut from this one"),
    # -- long text -----------------------------------------------------------------------
    "longtext.from_take": ("用结果音频的配置", "From a take"),
    "longtext.from_product": ("用成品", "From a product"),
    "longtext.task": ("任务", "Task"),
    "longtext.use": ("选用", "Use"),
    "longtext.product": ("成品", "Product"),
    "longtext.need_source": ("请先选择一条结果音频或一个成品。", "Choose a take or a product first."),
    "longtext.source_take": ("来源：结果音频 {id}…（seed {seed}）", "Source: take {id}… (seed {seed})"),
    "longtext.source_product": ("来源：成品 {name}", "Source: product {name}"),
    "longtext.text": ("长文本", "Long text"),
    "longtext.typed": ("（在下方输入）", "(typed below)"),
    "longtext.custom": ("在这里输入或粘贴长文本；留空则用上面选中的文本库长文",
                        "Type or paste a long text here; leave it empty to read the library "
                        "text chosen above"),
    "longtext.need_text": ("请选择文本库中的长文，或输入一段文本。",
                           "Choose a long text from the library or type one."),
    "longtext.method": ("切分", "Chunking"),
    "longtext.gap": ("段间静音（秒）", "Gap (s)"),
    "longtext.engine": ("引擎", "Engine"),
    "longtext.chunk_count": ("将分成 {n} 段朗读", "Read in {n} chunks"),
    "longtext.render": ("开始推理", "Render"),
    "longtext.rendering": ("推理中", "Rendering chunk"),
    "longtext.rendered": ("已完成：{n} 段，共 {seconds} 秒", "Done: {n} chunks, {seconds} s"),
    "longtext.cancelled": ("已取消（完成 {done}/{total} 段），可以继续推理",
                           "cancelled after {done} of {total} chunks; resume to finish"),
    "longtext.resume": ("继续推理", "Resume"),
    "longtext.reroll": ("重新生成", "Re-roll"),
    "longtext.rerolling": ("重新生成第 {n} 段", "Re-rolling chunk {n}"),
    "longtext.rerolled": ("第 {n} 段已用 seed {seed} 重新生成", "Chunk {n} re-rolled with seed {seed}"),
    "longtext.need_run": ("请先推理或打开一次长文测试。", "Render or open a long-text run first."),
    "longtext.not_rendered": ("这一段还没有推理。", "This chunk is not rendered yet."),
    "longtext.run_info": ("长文测试 #{id}：{n} 段，{seconds} 秒（{status}）",
                          "Long-text run #{id}: {n} chunks, {seconds} s ({status})"),
    "longtext.score": ("长文评分", "Long-text score"),
    "longtext.scored": ("已保存长文评分：{stars}", "Long-text score saved: {stars}"),
    "longtext.product_name": ("成品名称", "Product name"),
    "longtext.save_product": ("加入成品", "Save as product"),
    "longtext.product_saved": ("已加入成品：{name}", "Saved as product {name}"),
    "longtext.runs": ("这个角色的长文测试", "This role's long-text runs"),
    "longtext.n_chunks": ("段数", "Chunks"),
    "longtext.when": ("时间", "When"),
    "longtext.open": ("打开", "Open"),
    # -- products ------------------------------------------------------------------------
    "products.this_role": ("当前角色", "This role"),
    "products.all_roles": ("全部角色", "All roles"),
    "products.filter_name": ("名称包含", "Name contains"),
    "products.count": ("{n} 个成品", "{n} products"),
    "products.col.name": ("成品名称", "Product"),
    "products.col.clip": ("参考音频", "Reference"),
    "products.col.aux": ("融合", "Aux"),
    "products.col.speed": ("语速", "Speed"),
    "products.request": ("请求体", "Request"),
    "products.request_title": ("{name} 的 api_v2 POST /tts 请求体", "api_v2 POST /tts body of {name}"),
    "products.sample_text": ("示例文本", "Sample text"),
    "products.dest": ("导出到", "Export to"),
    "products.include_models": ("包含模型文件", "Include the model files"),
    "products.merge": ("模型相同的成品合并到一个文件夹", "One folder per model pair"),
    "products.export": ("导出", "Export"),
    "products.export_n": ("导出选中的 {n} 个", "Export {n} checked"),
    "products.exported": ("已导出 {n} 个成品到 {path}", "Exported {n} products to {path}"),
    "products.need_selection": ("请先勾选要导出的成品。", "Check the products to export first."),
    "products.need_dest": ("请填写导出文件路径（.zip）。", "Give the zip file to export to."),
    "products.deleted": ("已删除 {n} 个成品", "Deleted {n} products"),
    "products.bad_number": ("{field} 应是数字，而不是 {value}",
                            "{field} must be a number, not {value}"),
    "products.not_editable": ("{field} 不能在表格中修改", "{field} cannot be edited in the table"),
    "products.no_longtext": ("这个工作台没有“长文测试”页。", "This workbench has no Long text tab."),
    # -- freshness, errors in panel wording, one validation (issue 13) ----------------------
    "err.ignored": ("引擎会忽略 {names}，而这个任务在比较它：这些结果音频听起来会一样。",
                    "The engine ignores {names}, which this task varies: those takes would "
                    "sound alike."),
    "err.locked": ("工作区被另一个进程占用超过 {seconds} 秒，请稍后再试。",
                   "Another process held the workspace for over {seconds} s; try again shortly."),
    "err.locked_by": ("工作区被进程 {pid}（{command}）占用超过 {seconds} 秒，请等它结束后再试。",
                      "Process {pid} ({command}) held the workspace for over {seconds} s; try "
                      "again when it is done."),
    # -- library errors in the zh panel: the object named, or what kind of error it is -----
    "err.not_found": ("找不到{kind} {name}", "{kind} {name} does not exist"),
    "err.with_kind": ("{kind}：{message}", "{kind}: {message}"),
    "err.obj.role": ("角色", "role"),
    "err.obj.clip": ("参考音频", "clip"),
    "err.obj.text": ("文本", "text"),
    "err.obj.aux clip": ("辅助参考音频", "aux clip"),
    "err.obj.model": ("模型", "model"),
    "err.obj.task": ("任务", "task"),
    "err.obj.take": ("结果音频", "take"),
    "err.obj.product": ("成品", "product"),
    "err.obj.long-text run": ("长文测试", "long-text run"),
    "err.kind.WorkspaceError": ("工作区出错", "Workspace error"),
    "err.kind.NotFound": ("找不到", "Not found"),
    "err.kind.AlreadyExists": ("已存在", "Already exists"),
    "err.kind.InvalidInput": ("输入有误", "Invalid input"),
    "err.kind.ListFormatError": (".list 文件有误", "Bad .list file"),
    "err.kind.CheckpointError": ("模型文件有误", "Bad checkpoint"),
    "err.kind.AudioError": ("音频有误", "Audio error"),
    "err.kind.CapabilityError": ("引擎不支持", "Not supported by the engine"),
    "err.kind.ReferenceOutOfRange": ("参考音频不在 3–10 秒内", "Reference outside 3–10 s"),
    "err.kind.EngineError": ("推理引擎出错", "Engine error"),
    "err.kind.EngineUnavailable": ("连不上推理引擎", "Engine unreachable"),
    "err.kind.NotAnEngine": ("这个地址不是推理引擎", "Not an engine at that address"),
    "err.kind.TakeTimeout": ("推理超时", "Synthesis timed out"),
    "err.kind.EngineRequestError": ("推理引擎报错", "The engine refused the request"),
    "err.kind.TaskError": ("任务有误", "Task error"),
    "err.kind.EmptyGrid": ("任务没有可生成的结果", "The task has no takes"),
    "err.kind.TaskBusy": ("任务正在运行", "Task busy"),
    "err.kind.Cancelled": ("已取消", "Cancelled"),
    "err.kind.BackendUnavailable": ("模型未安装", "Model not installed"),
    "err.kind.ServeError": ("无法启动服务", "Cannot start the server"),
    "err.kind.QueueFull": ("队列已满", "Queue full"),
    "err.kind.RasvError": ("出错", "Error"),
    "tasks.fix_drop": ("去掉 {names}", "Drop {names}"),
    "tasks.fix_keep": ("仍然保留（生成警告）", "Keep it anyway (with a warning)"),
    "run.fix_keep": ("仍然运行（结果会一样）", "Run it anyway (takes will sound alike)"),
    "run.fix_edit": ("在任务页修改", "Change it in Tasks"),
    "run.no_takes_yet": ("任务 #{id} 还没有生成结果音频，请先运行。",
                         "Task #{id} has no takes yet; run it first."),
    "import.path_map_hint": ("每行一条：旧前缀 => 新前缀，如 D:/GPT-SoVITS/ => /data/gsv/",
                             "one per line: old prefix => new prefix, e.g. "
                             "D:/GPT-SoVITS/ => /data/gsv/"),
    "longtext.rendered_one": ("已完成：1 段，共 {seconds} 秒", "Done: 1 chunk, {seconds} s"),
    "longtext.chunk_count_one": ("将作为 1 段朗读", "Read in 1 chunk"),
    "longtext.method.ras": ("ras：按句合并到至少 50 字（RefAudioSelector 规则）",
                            "ras: sentences merged to 50+ characters (RefAudioSelector)"),
    "longtext.method.cut0": ("cut0：不切", "cut0: no split"),
    "longtext.method.cut1": ("cut1：凑四句一切", "cut1: every 4 sentences"),
    "longtext.method.cut2": ("cut2：凑 50 字一切", "cut2: every 50 characters"),
    "longtext.method.cut3": ("cut3：按中文句号。切", "cut3: at Chinese full stops 。"),
    "longtext.method.cut4": ("cut4：按英文句号 . 切", "cut4: at English full stops ."),
    "longtext.method.cut5": ("cut5：按标点符号切", "cut5: at every punctuation mark"),
    # -- serving the products to other apps (Products tab) ---------------------------------
    "serve.switch": ("对外提供语音服务", "Serve to other apps"),
    "serve.stop": ("停止服务", "Stop serving"),
    "serve.port": ("端口", "Port"),
    "serve.no_engine": ("还没有推理引擎：请先在“推理引擎”页连接或启动一个。",
                        "No engine yet: connect or start one in the Engines tab first."),
    "serve.running": ("正在 {url} 提供 {n} 个声音（OpenAI 接口地址：{url}/v1）",
                      "Serving {n} voices at {url} (OpenAI base_url: {url}/v1)"),
    "serve.voices": ("声音：", "Voices:"),
    "serve.none": ("（还没有成品）", "(no products yet)"),
    # -- status words of tasks, takes and long-text runs (stored in English) --------------
    "status.pending": ("待推理", "pending"),
    "status.running": ("推理中", "running"),
    "status.partial": ("部分完成", "partial"),
    "status.done": ("已完成", "done"),
    "status.failed": ("失败", "failed"),
    "status.cancelled": ("已取消", "cancelled"),
    "review.analysed": ("任务 #{task}：{takes} 条结果，新分析 {computed} 条，已缓存 {cached} 条，失败 {failed} 条",
                        "task {task}: {takes} takes, {computed} analysed, {cached} cached, "
                        "{failed} failed"),
    "review.analysed_not_done": ("，{n} 条未完成", ", {n} not finished"),
    "review.analysed_cancelled": ("（已取消）", " (cancelled)"),
}

#: ``MESSAGES[key][lang]``: the whole catalogue, for tests and tools.
MESSAGES: dict[str, dict[str, str]] = {
    key: {"zh": zh, "en": en} for key, (zh, en) in _CATALOGUE.items()
}


def placeholders(text: str) -> set[str]:
    """The ``str.format`` field names used in ``text``.

    Example:
        >>> sorted(placeholders("第 {page}/{pages} 页"))
        ['page', 'pages']
    """
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def default_lang() -> str:
    """The interface language: ``$RASV_LANG`` if set, else ``zh`` under a Chinese locale.

    Example:
        >>> default_lang() in LANGS
        True
    """
    forced = os.environ.get(LANG_ENV, "").strip().lower()
    if forced:
        return normalize_ui_lang(forced)
    candidates = [os.environ.get(v, "") for v in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")]
    # An unparsable locale setting must not stop the workbench.
    with contextlib.suppress(ValueError):
        candidates.append(locale.getlocale()[0] or "")
    for value in candidates:
        low = value.lower()
        if low.startswith("zh") or "chinese" in low:
            return "zh"
        if low and low not in ("c", "posix", "c.utf-8"):
            return "en"
    return "en"


def normalize_ui_lang(lang: str | None) -> str:
    """``zh``/``en`` from a language tag such as ``zh-CN``, ``zh_TW.UTF-8`` or ``en-US``.

    Raises:
        InvalidInput: a language the interface does not speak.

    Example:
        >>> normalize_ui_lang("zh_CN.UTF-8"), normalize_ui_lang("EN-us")
        ('zh', 'en')
    """
    if lang is None:
        return default_lang()
    low = str(lang).strip().lower()
    for code in LANGS:
        if low == code or low.startswith(code + "-") or low.startswith(code + "_"):
            return code
    raise InvalidInput(f"the interface speaks {' or '.join(LANGS)}, not {lang!r}")


class Translator:
    """Look up interface text in one language; ``t(key, **fields)``.

    Args:
        lang: ``zh`` or ``en`` (or a tag like ``zh-CN``); ``None`` picks :func:`default_lang`.

    Example:
        >>> t = Translator("zh")
        >>> t("table.page", page=1, pages=3, total=120)
        '第 1/3 页，共 120 条'
    """

    def __init__(self, lang: str | None = None) -> None:
        self.lang = normalize_ui_lang(lang)

    def __call__(self, key: str, **fields: object) -> str:
        try:
            text = MESSAGES[key][self.lang]
        except KeyError:
            raise KeyError(f"no interface text for {key!r}") from None
        return text.format(**fields) if fields else text

    def both(self, key: str) -> str:
        """Both languages, for places where either reader may look (``中文 / English``).

        Example:
            >>> Translator("en").both("tab.clips")
            '参考音频 / Clips'
        """
        return f"{MESSAGES[key]['zh']} / {MESSAGES[key]['en']}"

    def status(self, value: str) -> str:
        """A stored status word (``done``, ``pending`` …) in this language; others unchanged.

        Example:
            >>> Translator("zh").status("done"), Translator("zh").status("odd")
            ('已完成', 'odd')
        """
        texts = MESSAGES.get(f"status.{value}")
        return texts[self.lang] if texts else value

    def __repr__(self) -> str:
        return f"Translator({self.lang!r})"


__all__ = ["LANGS", "LANG_ENV", "MESSAGES", "Translator", "default_lang", "normalize_ui_lang",
           "placeholders"]
