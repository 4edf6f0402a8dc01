"""Every visible text of the generated workbooks, in English and Italian: one table.

Sheet names, headers, KPI names, notes, chart titles and messages are looked up here
by key (:func:`label`); formulas never contain a visible text, so they are the same in
every language. ``xlwings.conf`` keeps its name in every language (the add-in looks
for it).

Examples
--------
>>> label("sheet.ORDERS", "it")
'Ordini'
>>> label("kpi.churn", "en")
'Churn rate'
"""

from __future__ import annotations

from typing import Final

__all__ = ["LABELS", "LANGS", "label"]

#: Supported languages.
LANGS: Final = ("en", "it")

_REFRESH = "retention-xl refresh BOOK.xlsx --orders new.csv"

#: key -> (English, Italian)
LABELS: Final[dict[str, tuple[str, str]]] = {
    # sheet names (at most 31 characters, no []:*?/\)
    "sheet.DASHBOARD": ("Dashboard", "Cruscotto"),
    "sheet.KPIS": ("KPIs", "KPI"),
    "sheet.BENCHMARKS": ("Benchmarks", "Confronto benchmark"),
    "sheet.COHORTS": ("Cohorts", "Coorti"),
    "sheet.SEGMENTS": ("Segments", "Segmenti"),
    "sheet.PREDICTIONS": ("Predictions", "Previsioni"),
    "sheet.CUSTOMERS": ("Customers", "Clienti"),
    "sheet.PERIODS": ("Periods", "Periodi"),
    "sheet.MONTHLY": ("Monthly", "Mensile"),
    "sheet.MRR": ("MRR movements", "Movimenti MRR"),
    "sheet.ORDERS": ("Orders", "Ordini"),
    "sheet.SUBSCRIPTIONS": ("Subscriptions", "Abbonamenti"),
    "sheet.SURVEY": ("Survey", "Sondaggi"),
    "sheet.ABOUT": ("About", "Informazioni"),
    "sheet.XLWINGS_CONF": ("xlwings.conf", "xlwings.conf"),
    # column headers
    "col.customer_id": ("Customer ID", "ID cliente"),
    "col.order_id": ("Order ID", "ID ordine"),
    "col.order_date": ("Order date", "Data ordine"),
    "col.amount": ("Amount", "Importo"),
    "col.refunded": ("Refunded", "Rimborsato"),
    "col.status": ("Status", "Stato"),
    "col.currency": ("Currency", "Valuta"),
    "col.subscription_id": ("Subscription ID", "ID abbonamento"),
    "col.start_date": ("Start date", "Data inizio"),
    "col.end_date": ("End date", "Data fine"),
    "col.interval": ("Interval", "Intervallo"),
    "col.interval_count": ("Interval count", "Numero intervalli"),
    "col.answered_at": ("Answered at", "Data risposta"),
    "col.score": ("Score", "Punteggio"),
    "col.kind": ("Kind", "Tipo"),
    "col.first_order": ("First order", "Primo ordine"),
    "col.last_order": ("Last order", "Ultimo ordine"),
    "col.orders": ("Orders", "Ordini"),
    "col.purchase_days": ("Purchase days", "Giorni di acquisto"),
    "col.revenue": ("Revenue", "Fatturato"),
    "col.aov": ("Average order value", "Valore medio ordine"),
    "col.frequency": ("Repeat purchase days", "Giorni con riacquisto"),
    "col.recency_days": ("First to last order (days)", "Dal primo all'ultimo ordine (giorni)"),
    "col.age_days": ("Customer age (days)", "Anzianità cliente (giorni)"),
    "col.days_since_last": ("Days since last order", "Giorni dall'ultimo ordine"),
    "col.R": ("R score", "Punteggio R"),
    "col.F": ("F score", "Punteggio F"),
    "col.M": ("M score", "Punteggio M"),
    "col.segment": ("Segment", "Segmento"),
    "col.action": ("Suggested action", "Azione suggerita"),
    "col.p_alive": ("Probability still a customer", "Probabilità ancora cliente"),
    "col.predicted_clv": ("Predicted CLV (next year)", "CLV previsto (prossimo anno)"),
    "col.expected_365d": ("Expected purchases (next year)", "Acquisti attesi (prossimo anno)"),
    "col.risk_reason": ("Why at risk", "Perché a rischio"),
    "col.p_alive_low": ("Still a customer, low (90 %)", "Ancora cliente, minimo (90 %)"),
    "col.p_alive_high": ("Still a customer, high (90 %)", "Ancora cliente, massimo (90 %)"),
    "col.expected_365d_low": (
        "Expected purchases (next year), low (90 %)",
        "Acquisti attesi (prossimo anno), minimo (90 %)",
    ),
    "col.expected_365d_high": (
        "Expected purchases (next year), high (90 %)",
        "Acquisti attesi (prossimo anno), massimo (90 %)",
    ),
    "col.predicted_clv_low": ("Predicted CLV, low (90 %)", "CLV previsto, minimo (90 %)"),
    "col.predicted_clv_high": ("Predicted CLV, high (90 %)", "CLV previsto, massimo (90 %)"),
    "forecast.title": (
        "Next 12 months, all customers (90 % intervals)",
        "Prossimi 12 mesi, tutti i clienti (intervalli al 90 %)",
    ),
    "forecast.about": (
        "Expected values and their intervals from the uncertainty of the fitted "
        "parameters (500 draws); the purchases actually made also vary with each "
        "customer's own chance.",
        "Valori attesi e intervalli dovuti all'incertezza dei parametri stimati (500 "
        "estrazioni); gli acquisti effettivi variano anche per il caso di ogni cliente.",
    ),
    "forecast.expected_purchases": ("Expected repeat purchases", "Riacquisti attesi"),
    "forecast.purchases": ("Repeat purchases actually made", "Riacquisti effettivi"),
    "forecast.revenue": ("Expected revenue", "Fatturato atteso"),
    "forecast.predicted_clv": (
        "Predicted CLV (margin, discounted)",
        "CLV previsto (margine, attualizzato)",
    ),
    "col.low": ("Low", "Minimo"),
    "col.high": ("High", "Massimo"),
    "dashboard.forecast": ("Revenue next 12 months", "Fatturato prossimi 12 mesi"),
    "dashboard.forecast_low": ("at least (90 %)", "almeno (90 %)"),
    "dashboard.forecast_high": ("at most (90 %)", "al massimo (90 %)"),
    "risk.reason": (
        "no order for {gap} days, usually orders every {every} days",
        "nessun ordine da {gap} giorni, di solito ordina ogni {every} giorni",
    ),
    "col.risk_band": ("Churn risk", "Rischio di abbandono"),
    "col.model": ("Model", "Modello"),
    "col.parameter": ("Parameter", "Parametro"),
    "col.se": ("Standard error", "Errore standard"),
    "risk.low": ("low", "basso"),
    "risk.medium": ("medium", "medio"),
    "risk.high": ("high", "alto"),
    "col.name": ("Name", "Nome"),
    "col.email": ("Email", "Email"),
    "col.accepts_marketing": ("Accepts marketing", "Consenso marketing"),
    "col.country": ("Country", "Paese"),
    "col.tags": ("Tags", "Tag"),
    "value.yes": ("yes", "sì"),
    "value.no": ("no", "no"),
    "predictions.title": (
        "Predictions of the probabilistic models",
        "Previsioni dei modelli probabilistici",
    ),
    "predictions.note": (
        "BG/NBD (who keeps buying, and how often) and Gamma-Gamma (how much) fitted on the "
        "orders; per customer: probability still a customer, expected purchases, predicted "
        "CLV and churn risk on the Customers and Segments tabs.",
        "BG/NBD (chi continua ad acquistare, e quanto spesso) e Gamma-Gamma (quanto spende) "
        "stimati sugli ordini; per cliente: probabilità di essere ancora cliente, acquisti "
        "attesi, CLV previsto e rischio di abbandono nei fogli Clienti e Segmenti.",
    ),
    "predictions.none": (
        "No predictions: the models need orders with enough repeat buyers.",
        "Nessuna previsione: i modelli richiedono ordini con abbastanza clienti che riacquistano.",
    ),
    "predictions.settings": (
        "CLV over {horizon:g} days, margin {margin:.0%}, discount rate {rate:.0%} a year; "
        "time unit {unit:g} days (rates per unit).",
        "CLV su {horizon:g} giorni, margine {margin:.0%}, tasso di attualizzazione {rate:.0%} "
        "annuo; "
        "unità di tempo {unit:g} giorni (tassi per unità).",
    ),
    "predictions.at_risk": (
        "Customers at risk (probability of still being a customer below 50 %)",
        "Clienti a rischio (probabilità di essere ancora clienti sotto il 50 %)",
    ),
    "holdout.title": ("Check on a holdout period", "Verifica su un periodo di controllo"),
    "holdout.about": (
        "The purchase model is fitted again on the orders before the last quarter of the "
        "history (8 to 52 weeks held out) and predicts the repeat purchases of those "
        "customers in the weeks held out; the chart compares the prediction with what "
        "they bought, week by week.",
        "Il modello di acquisto viene stimato di nuovo sugli ordini precedenti l'ultimo "
        "quarto dello storico (da 8 a 52 settimane escluse) e prevede i riacquisti di quei "
        "clienti nelle settimane escluse; il grafico confronta la previsione con gli "
        "acquisti effettivi, settimana per settimana.",
    ),
    "holdout.marker": (
        "Calibration ends {end} (fit on the orders up to that day); holdout {start} to "
        "{last}: {weeks} weeks, week 1 starts the day after the calibration end.",
        "La calibrazione termina il {end} (stima sugli ordini fino a quel giorno); periodo "
        "di controllo dal {start} al {last}: {weeks} settimane, la settimana 1 inizia il "
        "giorno dopo la fine della calibrazione.",
    ),
    "holdout.short": (
        "Not enough history for a holdout check: the orders span {span:.0f} weeks and the "
        "check needs at least {need} (a holdout of at least {min} weeks, a quarter of the "
        "history).",
        "Storico insufficiente per la verifica: gli ordini coprono {span:.0f} settimane e "
        "ne servono almeno {need} (un periodo di controllo di almeno {min} settimane, un "
        "quarto dello storico).",
    ),
    "holdout.failed": (
        "No holdout check: the model could not be fitted on the orders before the "
        "holdout (too few repeat buyers before it).",
        "Nessuna verifica: il modello non si può stimare sugli ordini precedenti il "
        "periodo di controllo (troppo pochi clienti che riacquistano).",
    ),
    "holdout.aggregate": (
        "No holdout check in an aggregate report: it refits the models on part of every "
        "customer's orders, which this report does not hold in memory. Run `retention-xl "
        "predict --holdout-weeks 26` on a sample of the customers.",
        "Nessuna verifica in un rapporto aggregato: richiede di stimare di nuovo i modelli "
        "su una parte degli ordini di ogni cliente, che questo rapporto non tiene in "
        "memoria. Usa `retention-xl predict --holdout-weeks 26` su un campione dei clienti.",
    ),
    "holdout.mape": (
        "Error of the cumulative curve (MAPE)",
        "Errore della curva cumulata (MAPE)",
    ),
    "col.calibration_frequency": ("Repeat purchases before", "Riacquisti prima"),
    "col.actual_mean": ("Actual (mean)", "Effettivi (media)"),
    "col.predicted_mean": ("Predicted (mean)", "Previsti (media)"),
    "chart.holdout_by_frequency": (
        "Holdout purchases by past repeat purchases: actual vs predicted",
        "Acquisti nel periodo di controllo per riacquisti passati: effettivi e previsti",
    ),
    "chart.mean_purchases": ("Mean purchases per customer", "Acquisti medi per cliente"),
    "holdout.weeks": ("Holdout weeks", "Settimane di controllo"),
    "holdout.calibration_end": ("Calibration end", "Fine calibrazione"),
    "holdout.customers": ("Customers of the calibration", "Clienti della calibrazione"),
    "holdout.actual": (
        "Actual repeat purchases in the holdout",
        "Riacquisti effettivi nel periodo di controllo",
    ),
    "holdout.predicted": (
        "Predicted repeat purchases in the holdout",
        "Riacquisti previsti nel periodo di controllo",
    ),
    "holdout.ratio": ("Predicted / actual", "Previsti / effettivi"),
    "col.week": ("Week", "Settimana"),
    "col.actual_cumulative": ("Actual (cumulative)", "Effettivi (cumulati)"),
    "col.predicted_cumulative": ("Predicted (cumulative)", "Previsti (cumulati)"),
    "col.period": ("Period start", "Inizio periodo"),
    "col.label": ("Period", "Periodo"),
    "col.start_customers": ("Active at start", "Attivi a inizio"),
    "col.end_customers": ("Active at end", "Attivi a fine"),
    "col.new": ("New", "Nuovi"),
    "col.lost": ("Lost", "Persi"),
    "col.retained": ("Retained", "Mantenuti"),
    "col.reactivated": ("Reactivated", "Riattivati"),
    "col.buyers": ("Buyers", "Acquirenti"),
    "col.repeat_customers": ("Repeat buyers", "Clienti con più acquisti"),
    "col.churn": ("Churn rate", "Tasso di abbandono"),
    "col.crr": ("Retention rate", "Tasso di fidelizzazione"),
    "col.month": ("Month", "Mese"),
    "col.starting_mrr": ("Starting MRR", "MRR iniziale"),
    "col.new_mrr": ("New MRR", "MRR nuovo"),
    "col.expansion": ("Expansion", "Espansione"),
    "col.contraction": ("Contraction", "Contrazione"),
    "col.churn_mrr": ("Churned MRR", "MRR perso"),
    "col.reactivation": ("Reactivation", "Riattivazione"),
    "col.ending_mrr": ("Ending MRR", "MRR finale"),
    "col.subscribers": ("Subscribers", "Abbonati"),
    "col.starting_customers": ("Subscribers at start", "Abbonati a inizio"),
    "col.new_customers": ("New subscribers", "Nuovi abbonati"),
    "col.reactivated_customers": ("Reactivated subscribers", "Abbonati riattivati"),
    "col.churned_customers": ("Churned subscribers", "Abbonati persi"),
    "col.value": ("Value", "Valore"),
    "col.input": ("Input", "Parametro"),
    "col.note": ("Note", "Nota"),
    "col.kpi": ("KPI", "KPI"),
    "col.definition": ("Definition", "Definizione"),
    "col.your_value": ("Your value", "Il tuo valore"),
    "col.rating": ("Rating", "Valutazione"),
    "col.your_target": ("Your target", "Il tuo obiettivo"),
    "col.gap": ("Gap to target", "Distanza dall'obiettivo"),
    "col.progress": ("Progress", "Avanzamento"),
    "col.target_status": ("Target", "Obiettivo"),
    "col.level": ("Level", "Livello"),
    "col.source": ("Source", "Fonte"),
    "col.article_note": ("What the source says", "Cosa dice la fonte"),
    "col.cohort": ("Cohort", "Coorte"),
    "col.cohort_size": ("Customers", "Clienti"),
    "col.customers": ("Customers", "Clienti"),
    "col.share": ("Share of customers", "Quota clienti"),
    "col.revenue_share": ("Share of revenue", "Quota fatturato"),
    "col.segment_rule": ("Rule", "Regola"),
    "col.total": ("Total", "Totale"),
    "col.active": ("Active customers", "Clienti attivi"),
    "col.nps_band": ("Answer", "Risposta"),
    "col.answers": ("Answers", "Risposte"),
    "col.your_value_pct": ("Your value (% of excellent)", "Il tuo valore (% di eccellente)"),
    "col.healthy_pct": ("Healthy level (% of excellent)", "Livello buono (% di eccellente)"),
    # rating levels
    "level.below": ("below", "sotto la media"),
    "level.average": ("average", "nella media"),
    "level.healthy": ("healthy", "buono"),
    "level.excellent": ("excellent", "eccellente"),
    "level.excellent_target": ("Excellent (target)", "Eccellente (obiettivo)"),
    "target.met": ("target met", "obiettivo raggiunto"),
    "target.not_met": ("not yet", "non ancora"),
    # notes
    "note.paste_orders": (
        "Paste orders in columns A-G from row 2: one row per order, each order once "
        "(refresh removes repeated orders); status paid, refunded or cancelled; amounts "
        "without tax and shipping. Or: " + _REFRESH,
        "Incolla gli ordini nelle colonne A-G dalla riga 2: una riga per ordine, ogni ordine "
        "una sola volta (l'aggiornamento toglie gli ordini ripetuti); stato pagato, rimborsato "
        "o annullato (anche paid, refunded, cancelled); importi senza IVA e spedizione. Oppure: "
        + _REFRESH,
    ),
    "note.paste_subscriptions": (
        "Paste subscription items in columns A-H from row 2 (interval day, week, month or "
        "year; end date = first day no longer billed).",
        "Incolla le voci di abbonamento nelle colonne A-H dalla riga 2 (intervallo day, week, "
        "month o year; data fine = primo giorno non più fatturato).",
    ),
    "note.paste_survey": (
        "Paste survey answers in columns A-D from row 2 (kind nps for 0-10 scores, csat for "
        "1-5 scores).",
        "Incolla le risposte ai sondaggi nelle colonne A-D dalla riga 2 (tipo nps per "
        "punteggi 0-10, csat per punteggi 1-5).",
    ),
    "note.no_raw": (
        "The raw data were left out of this workbook (--no-raw): the KPIs that read them are "
        "values computed when the workbook was built.",
        "I dati grezzi non sono in questa cartella (--no-raw): i KPI che li leggono sono "
        "valori calcolati alla creazione della cartella.",
    ),
    "note.derived": (
        "Computed by retention_xl {version} from {sources}, data as of {as_of}. These are "
        "values: after new data, refresh them with " + _REFRESH,
        "Calcolato da retention_xl {version} da {sources}, dati al {as_of}. Sono valori: con "
        "dati nuovi aggiornali con " + _REFRESH,
    ),
    "note.derived_aggregate": (
        "Computed by retention_xl {version} from {sources}, data as of {as_of}. These are "
        "values: an aggregate report is not refreshed; with new data build it again: "
        "retention-xl build --orders LAKE --engine duckdb --out BOOK.xlsx",
        "Calcolato da retention_xl {version} da {sources}, dati al {as_of}. Sono valori: un "
        "rapporto aggregato non si aggiorna; con dati nuovi crealo di nuovo: "
        "retention-xl build --orders LAKE --engine duckdb --out BOOK.xlsx",
    ),
    "about.refresh.aggregate": (
        "This is an aggregate report (the orders do not fit in a sheet): refresh does not "
        "apply. With new data, build it again from the lake: retention-xl build --orders "
        "LAKE --engine duckdb --out BOOK.xlsx. Every customer, scored, is in the Parquet "
        "file written beside the workbook.",
        "Questo è un rapporto aggregato (gli ordini non stanno in un foglio): l'aggiornamento "
        "non si applica. Con dati nuovi crealo di nuovo dal lake: retention-xl build "
        "--orders LAKE --engine duckdb --out BOOK.xlsx. Tutti i clienti, con le previsioni, "
        "sono nel file Parquet scritto accanto alla cartella di lavoro.",
    ),
    "note.derived_empty": (
        "Computed by retention_xl from the raw tabs: fill them with " + _REFRESH,
        "Calcolato da retention_xl dai fogli dei dati grezzi: riempili con " + _REFRESH,
    ),
    "source.frames": ("data frames given to retention_xl", "tabelle passate a retention_xl"),
    "mrr.kpis": ("Revenue retention of the last month", "Ritenzione del fatturato, ultimo mese"),
    "mrr.nrr_12m": ("Net revenue retention, 12 months", "Ritenzione netta del fatturato, 12 mesi"),
    "mrr.grr_12m": (
        "Gross revenue retention, 12 months",
        "Ritenzione lorda del fatturato, 12 mesi",
    ),
    # segments
    "segment.new": ("New", "Nuovi"),
    "segment.loyal": ("Loyal", "Fedeli"),
    "segment.vip": ("VIP", "VIP"),
    "segment.at_risk": ("At risk", "A rischio"),
    "segment.dormant": ("Dormant", "Dormienti"),
    "segment.regular": ("Occasional", "Occasionali"),
    "segment.new.rule": (
        "first purchase less than 90 days ago, one purchase",
        "primo acquisto da meno di 90 giorni, un solo acquisto",
    ),
    "segment.loyal.rule": (
        "F score 3 or more, buying recently",
        "punteggio F 3 o più, acquisti recenti",
    ),
    "segment.vip.rule": ("M score 5 and F score 4 or more", "punteggio M 5 e F 4 o più"),
    "segment.at_risk.rule": (
        "used to buy often (F 3+), last purchase long ago (R 1-2)",
        "compravano spesso (F 3+), ultimo acquisto lontano (R 1-2)",
    ),
    "segment.dormant.rule": (
        "no purchase in the last 365 days",
        "nessun acquisto negli ultimi 365 giorni",
    ),
    "segment.regular.rule": ("everyone else", "tutti gli altri"),
    "action.onboarding": ("Onboarding sequence", "Percorso di benvenuto (onboarding)"),
    "action.loyalty_offer": (
        "Exclusive offers, loyalty programme",
        "Offerte esclusive, programma fedeltà",
    ),
    "action.vip_preview": ("Previews and premium offers", "Anteprime e offerte premium"),
    "action.winback": ("Win-back offer", "Offerta di riconquista"),
    "action.reactivation": ("Reactivation campaign", "Campagna di riattivazione"),
    "action.nurture": ("Nurture with regular content", "Coinvolgimento con contenuti regolari"),
    # inputs
    "input.period": ("Period shown", "Periodo mostrato"),
    "input.period.help": (
        "First day of the period of churn, retention and CLV: choose it from the list (the "
        "Periods tab).",
        "Primo giorno del periodo di abbandono, fidelizzazione e CLV: sceglilo dall'elenco "
        "(foglio Periodi).",
    ),
    "input.window_days": ("Activity window (days)", "Finestra di attività (giorni)"),
    "input.window_days.help": (
        "A customer is active while they bought in the last N days. Applied when the "
        "workbook is refreshed.",
        "Un cliente è attivo se ha acquistato negli ultimi N giorni. Si applica "
        "all'aggiornamento della cartella.",
    ),
    "input.cac": ("Customer acquisition cost (CAC)", "Costo di acquisizione cliente (CAC)"),
    "input.cac.help": (
        "Average cost of acquiring one customer, for CLV : CAC.",
        "Costo medio per acquisire un cliente, per CLV : CAC.",
    ),
    "input.gross_margin": ("Gross margin", "Margine lordo"),
    "input.gross_margin.help": (
        "Share of revenue kept after costs of goods (0-100 %), applied to CLV.",
        "Quota del fatturato che resta dopo il costo del venduto (0-100 %), applicata al CLV.",
    ),
    "input.discount_rate": ("Discount rate (per year)", "Tasso di attualizzazione (annuo)"),
    "input.discount_rate.help": (
        "For discounted CLV of the predictive models; applied when the workbook is refreshed.",
        "Per il CLV attualizzato dei modelli predittivi; si applica all'aggiornamento.",
    ),
    "input.target_repeat_rate": ("Target: repeat purchase rate", "Obiettivo: tasso di riacquisto"),
    "input.target_repeat_rate.help": (
        "30 % is excellent in digital commerce.",
        "30 % è eccellente nel commercio digitale.",
    ),
    "input.target_clv_cac": ("Target: CLV : CAC", "Obiettivo: CLV : CAC"),
    "input.target_clv_cac.help": (
        "4 : 1 or more is the usual target.",
        "4 : 1 o più è l'obiettivo usuale.",
    ),
    "input.target_at_risk": ("Target: customers at risk", "Obiettivo: clienti a rischio"),
    "input.target_at_risk.help": (
        "18 % or less is a realistic target.",
        "18 % o meno è un obiettivo realistico.",
    ),
    "input.target_churn": ("Target: churn rate", "Obiettivo: tasso di abbandono"),
    "input.target_churn.help": (
        "Your own target (lower is better); left blank: do better than the previous period.",
        "Il tuo obiettivo (più basso è meglio); se vuoto: fare meglio del periodo precedente.",
    ),
    "input.target_nps": ("Target: NPS", "Obiettivo: NPS"),
    "input.target_nps.help": (
        "Your own target, -100 to 100 (the articles give no NPS benchmark).",
        "Il tuo obiettivo, da -100 a 100 (gli articoli non danno un benchmark per l'NPS).",
    ),
    "validation.title": ("Value not allowed", "Valore non ammesso"),
    "validation.period": (
        "Choose the first day of a period from the list.",
        "Scegli dall'elenco il primo giorno di un periodo.",
    ),
    "validation.window": (
        "A whole number of days from 1 to 3650.",
        "Un numero intero di giorni da 1 a 3650.",
    ),
    "validation.cac": ("An amount of 0 or more.", "Un importo pari o superiore a 0."),
    "validation.fraction": ("A percentage from 0 % to 100 %.", "Una percentuale da 0 % a 100 %."),
    "validation.ratio": ("A ratio such as 4 for 4 : 1.", "Un rapporto, per esempio 4 per 4 : 1."),
    "validation.nps": ("A score from -100 to 100.", "Un punteggio da -100 a 100."),
    # KPIs sheet
    "kpis.title": ("Retention KPIs", "KPI di fidelizzazione"),
    "kpis.note": (
        "Yellow cells are inputs. Orders, revenue, AOV, NPS and CSAT compute from the raw "
        "tabs as soon as data is pasted; the other KPIs read the derived tabs (refresh them).",
        "Le celle gialle sono parametri. Ordini, fatturato, valore medio, NPS e CSAT si "
        "calcolano dai dati grezzi appena incollati; gli altri KPI leggono i fogli derivati "
        "(da aggiornare).",
    ),
    "kpis.as_of": ("Data as of", "Dati al"),
    "kpis.period_row": ("Row of the period (Periods tab)", "Riga del periodo (foglio Periodi)"),
    "kpis.period_row.help": (
        "Found by MATCH; blank when the period is not in the list.",
        "Trovata con CONFRONTA; vuota se il periodo non è nell'elenco.",
    ),
    "kpis.period_years": ("Period length (years)", "Durata del periodo (anni)"),
    "kpis.sub_month": ("Month of the subscription KPIs", "Mese dei KPI degli abbonamenti"),
    "kpis.sub_month.help": (
        "MRR, ARR, ARPA, subscribers, churn, NRR, GRR and quick ratio are for this month: "
        "the last complete month of the subscriptions export (a cancellation scheduled "
        "for later is not counted yet).",
        "MRR, ARR, ARPA, abbonati, churn, NRR, GRR e quick ratio si riferiscono a questo "
        "mese: l'ultimo mese completo dell'export degli abbonamenti (una disdetta "
        "programmata più avanti non è ancora contata).",
    ),
    "kpis.period_years.Y": ("Calendar years.", "Anni solari."),
    "kpis.period_years.Q": ("Calendar quarters.", "Trimestri solari."),
    "kpis.period_years.M": ("Calendar months.", "Mesi solari."),
    # KPI names and definitions
    "kpi.customers": ("Customers", "Clienti"),
    "kpi.customers.help": (
        "Customers with at least one purchase.",
        "Clienti con almeno un acquisto.",
    ),
    "kpi.orders": ("Orders", "Ordini"),
    "kpi.orders.help": (
        "Purchases: orders neither cancelled nor refunded, amount above 0.",
        "Acquisti: ordini né annullati né rimborsati, importo sopra 0.",
    ),
    "kpi.revenue": ("Revenue", "Fatturato"),
    "kpi.revenue.help": (
        "Every row of the Orders tab, cancelled orders left out: merchandise without tax "
        "and shipping, less refunds counted on the same basis (the share of a refund that "
        "was merchandise).",
        "Tutte le righe del foglio Ordini, ordini annullati esclusi: merce senza IVA né "
        "spedizione, meno i rimborsi calcolati sulla stessa base (la quota del rimborso che "
        "riguardava la merce).",
    ),
    "kpi.aov": ("Average order value", "Valore medio dell'ordine"),
    "kpi.aov.help": (
        "Net revenue of the purchases / purchases.",
        "Fatturato netto degli acquisti / acquisti.",
    ),
    "kpi.purchase_frequency": ("Orders per customer", "Ordini per cliente"),
    "kpi.purchase_frequency.help": ("Purchases / customers.", "Acquisti / clienti."),
    "kpi.repeat_rate": ("Repeat purchase rate", "Tasso di riacquisto"),
    "kpi.repeat_rate.help": (
        "Customers with 2+ purchases / all customers, over all time (churn is per "
        "period: many repeat buyers and a high churn can go together).",
        "Clienti con 2+ acquisti / tutti i clienti, da sempre (l'abbandono è per periodo: "
        "molti clienti che riacquistano e un abbandono alto possono coesistere).",
    ),
    "kpi.start_customers": ("Active customers at period start", "Clienti attivi a inizio periodo"),
    "kpi.start_customers.help": (
        "Active: bought within the activity window.",
        "Attivo: ha acquistato entro la finestra di attività.",
    ),
    "kpi.new_customers": ("New customers in period", "Nuovi clienti nel periodo"),
    "kpi.new_customers.help": (
        "First purchase ever inside the period (with an activity window shorter than the "
        "period, those no longer active at its end are left out).",
        "Primo acquisto in assoluto nel periodo (con una finestra di attività più corta del "
        "periodo, esclusi quelli non più attivi alla fine).",
    ),
    "kpi.lost_customers": ("Customers lost in period", "Clienti persi nel periodo"),
    "kpi.lost_customers.help": (
        "Active at the start, no longer active at the end.",
        "Attivi all'inizio, non più attivi alla fine.",
    ),
    "kpi.churn": ("Churn rate", "Tasso di abbandono"),
    "kpi.churn.help": (
        "Customers lost / customers active at the start of the period: who stopped "
        "buying, not how many buy again (that is the repeat rate).",
        "Clienti persi / clienti attivi all'inizio del periodo: chi ha smesso di "
        "acquistare, non quanti riacquistano (quello è il tasso di riacquisto).",
    ),
    "kpi.crr": ("Customer retention rate", "Tasso di fidelizzazione"),
    "kpi.crr.help": (
        "(Active at the end - gained in the period) / active at the start = 1 - churn: "
        "returning customers count as won back, not kept, so never above 100 %.",
        "(Attivi alla fine - acquisiti nel periodo) / attivi all'inizio = 1 - abbandono: "
        "chi ritorna conta come riconquistato, non mantenuto; mai sopra il 100 %.",
    ),
    "kpi.lifespan": ("Customer lifespan (years)", "Durata media del cliente (anni)"),
    "kpi.lifespan.help": ("1 / annual churn.", "1 / abbandono annuo."),
    "kpi.clv": ("Customer lifetime value", "Valore del cliente nel tempo (CLV)"),
    "kpi.clv.help": (
        "Average order value x purchases per year x lifespan x gross margin.",
        "Valore medio ordine x acquisti all'anno x durata x margine lordo.",
    ),
    "kpi.clv_cac": ("CLV : CAC", "CLV : CAC"),
    "kpi.clv_cac.help": (
        "CLV / acquisition cost (needs the CAC input).",
        "CLV / costo di acquisizione (serve il CAC).",
    ),
    "kpi.at_risk_share": ("Customers at risk", "Clienti a rischio"),
    "kpi.at_risk_share.help": (
        "Share of customers whose probability of still being a customer is below 50 % "
        "(needs the predictive model; blank without it).",
        "Quota di clienti con probabilità di essere ancora clienti sotto il 50 % (serve il "
        "modello predittivo; vuoto senza).",
    ),
    "kpi.mrr": ("MRR", "MRR (ricavi ricorrenti mensili)"),
    "kpi.mrr.help": (
        "Monthly recurring revenue at the end of the last month.",
        "Ricavi ricorrenti mensili alla fine dell'ultimo mese.",
    ),
    "kpi.arr": ("ARR", "ARR (ricavi ricorrenti annui)"),
    "kpi.arr.help": ("12 x MRR.", "12 x MRR."),
    "kpi.arpa": ("ARPA", "ARPA (ricavo medio per abbonato)"),
    "kpi.arpa.help": ("MRR / paying subscribers.", "MRR / abbonati paganti."),
    "kpi.subscribers": ("Subscribers", "Abbonati"),
    "kpi.subscribers.help": (
        "Paying at the end of the last month.",
        "Paganti alla fine dell'ultimo mese.",
    ),
    "kpi.logo_churn": ("Subscriber churn (month)", "Abbandono abbonati (mese)"),
    "kpi.logo_churn.help": (
        "Subscribers lost / subscribers at the start of the month.",
        "Abbonati persi / abbonati a inizio mese.",
    ),
    "kpi.nrr": ("Net revenue retention", "Ritenzione netta del fatturato"),
    "kpi.nrr.help": (
        "MRR now of the subscribers of 12 months ago / their MRR then.",
        "MRR attuale degli abbonati di 12 mesi fa / il loro MRR di allora.",
    ),
    "kpi.grr": ("Gross revenue retention", "Ritenzione lorda del fatturato"),
    "kpi.grr.help": (
        "As NRR without expansion; at most 100 %.",
        "Come NRR senza espansione; al massimo 100 %.",
    ),
    "kpi.quick_ratio": ("Quick ratio", "Quick ratio"),
    "kpi.quick_ratio.help": (
        "(New + reactivation + expansion) / (contraction + churn) MRR.",
        "(Nuovo + riattivazione + espansione) / (contrazione + perso) MRR.",
    ),
    "kpi.nps": ("Net Promoter Score", "Net Promoter Score (NPS)"),
    "kpi.nps.help": (
        "% promoters (9-10) - % detractors (0-6).",
        "% promotori (9-10) - % detrattori (0-6).",
    ),
    "kpi.nps_answers": ("NPS answers", "Risposte NPS"),
    "kpi.nps_answers.help": ("Answers of kind nps.", "Risposte di tipo nps."),
    "kpi.csat": ("CSAT", "CSAT (soddisfazione)"),
    "kpi.csat.help": (
        "Answers 4-5 / all answers of kind csat.",
        "Risposte 4-5 / tutte le risposte di tipo csat.",
    ),
    "kpi.csat_answers": ("CSAT answers", "Risposte CSAT"),
    "kpi.csat_answers.help": ("Answers of kind csat.", "Risposte di tipo csat."),
    # Benchmarks sheet
    "bench.title": ("Your KPIs against the benchmarks", "I tuoi KPI a confronto con i benchmark"),
    "bench.note": (
        "Benchmarks stated by the source articles, market {market}; targets are the inputs of "
        "the KPIs sheet.",
        "Benchmark indicati dagli articoli di riferimento, mercato {market}; gli obiettivi "
        "sono i parametri del foglio KPI.",
    ),
    "bench.repeat_rate.note": (
        "Digital commerce: typical range 15-30 %, about 22 % is average, 30 % is excellent.",
        "Commercio digitale: intervallo tipico 15-30 %, circa 22 % è la media, 30 % è eccellente.",
    ),
    "bench.clv_cac.note": (
        "About 3 : 1 is healthy, 2.5 : 1 is average in Europe, 4 : 1 or more is the target.",
        "Circa 3 : 1 è sano, 2,5 : 1 è la media in Europa, 4 : 1 o più è l'obiettivo.",
    ),
    "bench.at_risk_share.note": (
        "E-commerce: about 28 % of customers are at risk within a year; 18 % or less is a "
        "realistic target.",
        "E-commerce: circa il 28 % dei clienti è a rischio entro un anno; 18 % o meno è un "
        "obiettivo realistico.",
    ),
    "bench.churn.note": (
        "No article benchmark: compared with your target only.",
        "Nessun benchmark negli articoli: confronto solo con il tuo obiettivo.",
    ),
    "bench.nps.note": (
        "Promoters 9-10, passives 7-8, detractors 0-6; compared with your target.",
        "Promotori 9-10, passivi 7-8, detrattori 0-6; confronto con il tuo obiettivo.",
    ),
    "bench.fact.label": (
        "Acquisition vs retention cost (x)",
        "Costo di acquisizione vs fidelizzazione (x)",
    ),
    "bench.fact.note": (
        "Acquiring a new customer can cost up to 5 times as much as keeping an existing one.",
        "Acquisire un nuovo cliente può costare fino a 5 volte più che mantenerne uno.",
    ),
    "bench.no_data": ("no data", "nessun dato"),
    "bench.levels": (
        "Rating levels (used by the formulas)",
        "Livelli di valutazione (usati dalle formule)",
    ),
    # Cohorts
    "cohorts.title": ("Cohorts by month of first purchase", "Coorti per mese del primo acquisto"),
    "cohorts.customers": (
        "Share of the cohort buying again, months after the first purchase",
        "Quota della coorte che riacquista, mesi dopo il primo acquisto",
    ),
    "cohorts.revenue": (
        "Revenue of the cohort as a share of its first month",
        "Fatturato della coorte rispetto al primo mese",
    ),
    "cohorts.note": (
        "Rows: month of first purchase (latest 60); columns: months since. "
        "Blank: not observable yet.",
        "Righe: mese del primo acquisto (ultimi 60); colonne: mesi trascorsi. "
        "Vuoto: non ancora osservabile.",
    ),
    "cohorts.totals": (
        "All cohorts: the totals of their customers",
        "Tutte le coorti: i totali dei loro clienti",
    ),
    "cohorts.totals_note": (
        "One row per month of first purchase, every cohort: in this aggregate report (no "
        "Orders tab, a limited Customers sheet) the KPIs sheet adds these up.",
        "Una riga per mese del primo acquisto, tutte le coorti: in questo rapporto "
        "aggregato (senza il foglio Ordini, con un elenco clienti ridotto) il foglio KPI "
        "somma questi valori.",
    ),
    "col.purchase_revenue": ("Revenue of purchases", "Fatturato degli acquisti"),
    "col.scored": ("Customers scored", "Clienti valutati"),
    "col.at_risk": (
        "At risk (probability still a customer < 50 %)",
        "A rischio (probabilità ancora cliente < 50 %)",
    ),
    # aggregate reports: the customers listed
    "col.listed_as": ("Listed as", "In elenco come"),
    "listed.top_value": ("Top value", "Valore più alto"),
    "listed.at_risk": ("At risk", "A rischio"),
    "listed.vip": ("VIP", "VIP"),
    "customers.rule": (
        "This report lists {listed} of the {total} customers (at most {limit}): first the "
        "{third} with the highest predicted CLV for the next year (Top value); then, of "
        "the customers whose probability of still being a customer is below 50 %, the "
        "{third} who spent the most so far (At risk); then those who spent the most so far "
        "(VIP) until the list is full. Every customer, with the predictions, is in {file}. "
        "The KPIs count every customer.",
        "Questo rapporto elenca {listed} dei {total} clienti (al massimo {limit}): prima i "
        "{third} con il CLV previsto più alto per il prossimo anno (Valore più alto); poi, "
        "tra i clienti con probabilità di essere ancora clienti sotto il 50 %, i {third} "
        "che finora hanno speso di più (A rischio); infine quelli che finora hanno speso di "
        "più (VIP), fino a riempire l'elenco. Tutti i clienti, con le previsioni, sono in "
        "{file}. I KPI contano tutti i clienti.",
    ),
    # Segments
    "segments.title": ("Customer segments (RFM)", "Segmenti di clienti (RFM)"),
    "segments.list": (
        "Customers: filter and export to your CRM",
        "Clienti: filtra ed esporta nel tuo CRM",
    ),
    # Dashboard
    "dashboard.title": ("Retention dashboard", "Cruscotto della fidelizzazione"),
    "dashboard.period": ("Period from {period}", "Periodo dal {period}"),
    "dashboard.as_of": ("data as of {as_of}", "dati al {as_of}"),
    "dashboard.empty": (
        "No data yet: paste your exports into the raw tabs or run " + _REFRESH,
        "Ancora nessun dato: incolla le esportazioni nei fogli dei dati grezzi o esegui "
        + _REFRESH,
    ),
    "dashboard.progress": ("Progress toward your targets", "Avanzamento verso i tuoi obiettivi"),
    "dashboard.legend": (
        "Colour of a value: green healthy or better (or target met), amber average, "
        "red below average, grey no benchmark. Line: the last 12 months.",
        "Colore del valore: verde buono o migliore (o obiettivo raggiunto), giallo "
        "nella media, rosso sotto la media, grigio senza riferimento. Linea: ultimi 12 mesi.",
    ),
    "dashboard.compare": (
        "▲▼ {now} vs {then} (MRR: last month vs the month before)",
        "▲▼ {now} rispetto al {then} (MRR: ultimo mese sul precedente)",
    ),
    "dashboard.no_target": ("no target set", "obiettivo non impostato"),
    "dashboard.no_cac": (
        "enter your CAC on the KPIs sheet",
        "inserisci il CAC nel foglio KPI",
    ),
    "dashboard.texts": ("Words of the formulas", "Testi delle formule"),
    "dashboard.targets_where": (
        "Targets: yellow cells on the KPIs sheet",
        "Obiettivi: celle gialle nel foglio KPI",
    ),
    "chart.no_cohort": ("(no cohort yet)", "(nessuna coorte)"),
    "col.current": ("This period", "Periodo scelto"),
    "col.previous": ("Period before", "Periodo precedente"),
    "col.change": ("Change", "Variazione"),
    "dashboard.chart_data": (
        "Chart data (rewritten on refresh)",
        "Dati dei grafici (riscritti all'aggiornamento)",
    ),
    "nps.promoters": ("Promoters (9-10)", "Promotori (9-10)"),
    "nps.passives": ("Passives (7-8)", "Passivi (7-8)"),
    "nps.detractors": ("Detractors (0-6)", "Detrattori (0-6)"),
    "chart.retention_curves": ("Retention curves by cohort", "Curve di fidelizzazione per coorte"),
    "chart.months_since_first": ("Months since first purchase", "Mesi dal primo acquisto"),
    "chart.share_active": ("Share of the cohort buying", "Quota della coorte che acquista"),
    "chart.nps": ("NPS answers", "Risposte NPS"),
    "chart.kpi_vs_benchmark": (
        "KPIs against the articles' benchmarks",
        "I KPI rispetto ai benchmark degli articoli",
    ),
    "chart.pct_of_target": (
        "% of the excellent level in the articles",
        "% del livello eccellente indicato dagli articoli",
    ),
    "chart.monthly": ("Monthly revenue and active customers", "Fatturato mensile e clienti attivi"),
    "chart.mrr_movements": ("MRR movements", "Movimenti MRR"),
    "chart.holdout": (
        "Cumulative repeat purchases in the holdout: actual vs predicted",
        "Riacquisti cumulati nel periodo di controllo: effettivi e previsti",
    ),
    "chart.holdout_weeks": (
        "Weeks after the calibration end",
        "Settimane dopo la fine della calibrazione",
    ),
    "chart.repeat_purchases": ("Repeat purchases", "Riacquisti"),
    # About
    "about.title": ("About this workbook", "Informazioni su questa cartella"),
    "about.intro": (
        "Made by retention_xl: it works in Excel and LibreOffice without Python.",
        "Creata da retention_xl: funziona in Excel e LibreOffice senza Python.",
    ),
    "about.sheets": ("Sheets", "Fogli"),
    "about.role.DASHBOARD": (
        "KPI tiles, progress toward your targets and the charts.",
        "Riquadri dei KPI, avanzamento verso gli obiettivi e grafici.",
    ),
    "about.role.KPIS": (
        "Inputs (yellow) and every KPI as a formula.",
        "Parametri (in giallo) e tutti i KPI come formule.",
    ),
    "about.role.BENCHMARKS": (
        "Your KPIs against the article benchmarks and your targets.",
        "I tuoi KPI rispetto ai benchmark degli articoli e ai tuoi obiettivi.",
    ),
    "about.role.COHORTS": (
        "Cohort matrices (customers and revenue) with a heatmap.",
        "Matrici delle coorti (clienti e fatturato) con mappa di calore.",
    ),
    "about.role.SEGMENTS": (
        "RFM segments with the suggested action, and the customer list for your CRM.",
        "Segmenti RFM con l'azione suggerita e l'elenco clienti per il CRM.",
    ),
    "about.role.PREDICTIONS": (
        "Predictions of the probabilistic models.",
        "Previsioni dei modelli probabilistici.",
    ),
    "about.role.CUSTOMERS": (
        "One row per customer: orders, revenue, RFM scores, segment (values).",
        "Una riga per cliente: ordini, fatturato, punteggi RFM, segmento (valori).",
    ),
    "about.role.PERIODS": (
        "Customers gained, kept and lost per period (values).",
        "Clienti acquisiti, mantenuti e persi per periodo (valori).",
    ),
    "about.role.MONTHLY": (
        "The same per calendar month (values).",
        "Lo stesso per mese solare (valori).",
    ),
    "about.role.MRR": ("MRR movements per month (values).", "Movimenti MRR per mese (valori)."),
    "about.role.ORDERS": ("Raw data: one row per order.", "Dati grezzi: una riga per ordine."),
    "about.role.SUBSCRIPTIONS": (
        "Raw data: one row per subscription item.",
        "Dati grezzi: una riga per voce di abbonamento.",
    ),
    "about.role.SURVEY": (
        "Raw data: one row per survey answer.",
        "Dati grezzi: una riga per risposta.",
    ),
    "about.role.ABOUT": ("This sheet.", "Questo foglio."),
    "about.role.XLWINGS_CONF": (
        "Tells the xlwings add-in where the retention_xl Excel functions are.",
        "Indica al componente xlwings dove sono le funzioni Excel di retention_xl.",
    ),
    "about.refresh": ("How to refresh", "Come aggiornare"),
    "about.refresh.1": (
        "With new exports: " + _REFRESH + " (also --subscriptions, --survey; --append adds to "
        "the data already here).",
        "Con nuove esportazioni: " + _REFRESH + " (anche --subscriptions, --survey; --append "
        "aggiunge ai dati già presenti).",
    ),
    "about.refresh.2": (
        "Refresh rewrites the raw, derived, KPI, benchmark, cohort, segment and dashboard "
        "sheets; your own sheets, charts and inputs stay as they are.",
        "L'aggiornamento riscrive i fogli dei dati, derivati, KPI, benchmark, coorti, "
        "segmenti e cruscotto; i tuoi fogli, grafici e parametri restano come sono.",
    ),
    "about.refresh.3": (
        "Without Python: paste data into the raw tabs; orders, revenue, AOV, NPS and CSAT "
        "update at once, the derived tabs at the next refresh.",
        "Senza Python: incolla i dati nei fogli grezzi; ordini, fatturato, valore medio, NPS "
        "e CSAT si aggiornano subito, i fogli derivati al prossimo aggiornamento.",
    ),
    "about.refresh.4": (
        "Close the workbook in Excel or LibreOffice before refreshing; a backup (.bak) is kept.",
        "Chiudi la cartella in Excel o LibreOffice prima di aggiornarla; "
        "viene tenuta una copia (.bak).",
    ),
    "about.data": ("Data", "Dati"),
    "about.as_of": ("Data as of", "Dati al"),
    "about.files": ("Files", "File"),
    "about.no_data": ("No data yet (template).", "Ancora nessun dato (modello)."),
    "about.orders_line": (
        "orders: rows {rows}, purchases {orders}, customers {customers}, dates {first} to "
        "{last}, duplicates removed {duplicates}, refunds {refunds}, cancelled {cancelled}, "
        "currencies {currencies}",
        "ordini: righe {rows}, acquisti {orders}, clienti {customers}, date da {first} a "
        "{last}, duplicati rimossi {duplicates}, rimborsi {refunds}, annullati {cancelled}, "
        "valute {currencies}",
    ),
    "about.subscriptions_line": (
        "subscriptions: items {rows}, customers {customers}",
        "abbonamenti: voci {rows}, clienti {customers}",
    ),
    "about.survey_line": ("survey: answers {rows}", "sondaggi: risposte {rows}"),
    "about.version": ("Version", "Versione"),
    "about.settings": ("Settings", "Impostazioni"),
    # the command line's KPI table
    "cli.demo": (
        "retention_xl demo: the bundled sample shop (synthetic, 2023-2024)",
        "retention_xl demo: il negozio di esempio incluso (dati sintetici, 2023-2024)",
    ),
    "cli.written": ("Workbook written: {path}", "Cartella scritta: {path}"),
    "cli.kpi": ("KPI", "KPI"),
    "cli.value": ("value", "valore"),
    "cli.benchmark": ("benchmark", "benchmark"),
    "cli.excellent_at": ("excellent at", "eccellente da"),
    "cli.period": (
        "Period {start} .. {end}{partial}, as of {as_of}",
        "Periodo dal {start} al {end}{partial}, dati al {as_of}",
    ),
    "cli.partial": (" (partial)", " (parziale)"),
    "cli.sub_month": (
        "Subscription KPIs (MRR, ARR, churn, NRR, GRR) for {month}, the last complete month "
        "of the subscriptions export",
        "KPI degli abbonamenti (MRR, ARR, abbandono, NRR, GRR) di {month}, l'ultimo mese "
        "completo dell'export degli abbonamenti",
    ),
    "month.1": ("January", "gennaio"),
    "month.2": ("February", "febbraio"),
    "month.3": ("March", "marzo"),
    "month.4": ("April", "aprile"),
    "month.5": ("May", "maggio"),
    "month.6": ("June", "giugno"),
    "month.7": ("July", "luglio"),
    "month.8": ("August", "agosto"),
    "month.9": ("September", "settembre"),
    "month.10": ("October", "ottobre"),
    "month.11": ("November", "novembre"),
    "month.12": ("December", "dicembre"),
    "period.Y": ("year", "anno"),
    "period.Q": ("quarter", "trimestre"),
    "period.M": ("month", "mese"),
    "about.settings_line": (
        "period {period}, activity window {window} days, benchmark market {market}, "
        "currency {currency}",
        "periodo {period}, finestra di attività {window} giorni, mercato dei benchmark {market}, "
        "valuta {currency}",
    ),
}


def label(key: str, lang: str = "en") -> str:
    """The text of ``key`` in ``lang`` (``"en"`` or ``"it"``); KeyError for an unknown key."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {list(LANGS)}, got {lang!r}")
    return LABELS[key][LANGS.index(lang)]
